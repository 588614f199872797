//! The view's editing side: typing into the query bar, the command line and the targets
//! filter (`type_char`, the line-editing intents), Enter (`submit`: run the query, or
//! the `:` command: `:q`, `:range`, `:graph`, `:theme`, `:help`), and the query bar's
//! Tab completion cycle. `ViewState::apply` hands these intents here.

use super::*;

impl ViewState {
    /// Whether Tab continues a completion (the line is as the last candidate left it).
    pub fn completing(&self) -> bool {
        self.completion
            .as_ref()
            .is_some_and(|c| c.line == self.query.text())
    }

    /// Tab (or Shift-Tab, `backwards`) while a completion is under way: the next (previous)
    /// candidate replaces the current one.
    pub fn cycle_completion(&mut self, backwards: bool) {
        if !self.completing() {
            return;
        }
        let Some(c) = self.completion.as_mut() else {
            return;
        };
        let n = c.candidates.len();
        let old_len = c.candidates[c.selected].text.len();
        c.selected = if backwards {
            (c.selected + n - 1) % n
        } else {
            (c.selected + 1) % n
        };
        let new = c.candidates[c.selected].text.clone();
        self.query.replace(c.start..c.start + old_len, &new);
        c.line = self.query.text().to_string();
    }

    /// Tab with fresh candidates for the byte range `replace` of the line: one candidate
    /// is put in at once; several are offered as a list, the first put in.
    pub fn start_completion(
        &mut self,
        candidates: Vec<Candidate>,
        replace: std::ops::Range<usize>,
    ) {
        self.completion = None;
        let Some(first) = candidates.first() else {
            self.message = Some("no completions here".into());
            return;
        };
        let start = replace.start.min(self.query.text().len());
        self.query.replace(replace, &first.text);
        if candidates.len() > 1 {
            self.completion = Some(CompletionView {
                candidates,
                selected: 0,
                start,
                line: self.query.text().to_string(),
            });
        }
    }

    /// A typed character in an editing mode.
    pub fn type_char(&mut self, c: char) {
        self.completion = None;
        match self.mode {
            Mode::Query if self.history.searching() => self.history.search_type(c, &mut self.query),
            Mode::Query => self.query.insert(c),
            Mode::Command => self.command.insert(c),
            Mode::TargetFilter => {
                self.targets.filter.insert(c);
                self.targets.selected = 0;
            }
            Mode::ClusterFilter => {
                let t = self.cluster.table();
                t.filter.insert(c);
                t.selected = 0;
            }
            Mode::AlertFilter => {
                self.alerts.filter.insert(c);
                self.alerts.selected = 0;
            }
            Mode::Normal
            | Mode::Help
            | Mode::Targets
            | Mode::Options
            | Mode::Dashboard
            | Mode::Cluster
            | Mode::Alerts
            | Mode::SilencePick
            | Mode::SourcePick => {}
        }
    }

    /// The line the current mode edits.
    fn line(&mut self) -> Option<&mut LineEditor> {
        match self.mode {
            Mode::Query => Some(&mut self.query),
            Mode::Command => Some(&mut self.command),
            Mode::TargetFilter => Some(&mut self.targets.filter),
            Mode::ClusterFilter => Some(&mut self.cluster.table().filter),
            Mode::AlertFilter => Some(&mut self.alerts.filter),
            Mode::Normal
            | Mode::Help
            | Mode::Targets
            | Mode::Options
            | Mode::Dashboard
            | Mode::Cluster
            | Mode::Alerts
            | Mode::SilencePick
            | Mode::SourcePick => None,
        }
    }

    pub(super) fn edit(&mut self, intent: Intent) {
        if self.mode == Mode::Query {
            let searching = self.history.searching();
            match intent {
                Intent::HistoryPrev => return self.history.prev(&mut self.query),
                Intent::HistoryNext => return self.history.next(&mut self.query),
                Intent::HistorySearch => return self.history.search_older(&mut self.query),
                Intent::DeleteBack if searching => {
                    return self.history.search_backspace(&mut self.query);
                }
                _ if searching => self.history.end_search(&mut self.query, true),
                _ => {}
            }
        }
        let Some(line) = self.line() else { return };
        match intent {
            Intent::ClearLine => line.clear(),
            Intent::CursorLeft => line.left(),
            Intent::CursorRight => line.right(),
            Intent::CursorHome => line.home(),
            Intent::CursorEnd => line.end(),
            Intent::WordLeft => line.word_left(),
            Intent::WordRight => line.word_right(),
            Intent::DeleteBack => line.backspace(),
            Intent::DeleteForward => line.delete(),
            Intent::DeleteWord => line.delete_word(),
            Intent::KillToEnd => line.kill_to_end(),
            _ => {}
        }
    }

    /// Enter: runs the query (back to the boxes, the query stays in the bar) or the command.
    pub(super) fn submit(&mut self) -> Flow {
        match self.mode {
            Mode::Query => {
                if self.history.searching() {
                    self.history.end_search(&mut self.query, true);
                }
                let expr = self.query.text().trim().to_string();
                self.history.push(&expr);
                self.mode = Mode::Normal;
                Flow::Send(Action::RunQuery { expr })
            }
            Mode::Command => {
                let line = self.command.text().trim().to_string();
                self.mode = self.after_command();
                self.run_command(&line)
            }
            Mode::TargetFilter => {
                self.mode = Mode::Targets;
                Flow::Continue
            }
            Mode::ClusterFilter => {
                self.mode = Mode::Cluster;
                Flow::Continue
            }
            Mode::AlertFilter => {
                self.mode = Mode::Alerts;
                Flow::Continue
            }
            Mode::Normal
            | Mode::Help
            | Mode::Targets
            | Mode::Options
            | Mode::Dashboard
            | Mode::Cluster
            | Mode::Alerts
            | Mode::SilencePick
            | Mode::SourcePick => Flow::Continue,
        }
    }

    /// `:q`, `:quit`, `:range DUR` (a preset), `:graph SYMBOLS`, `:theme [NAME]`, `:help`,
    /// `:ns [NAME|all]`, `:ctx NAME[,NAME]`, `:rules`, `:reload`, `:alerts`, `:unsilence ID`,
    /// `:source NAME` (`:silence DUR` and the `:source` picker need the snapshot:
    /// `apply_with` does them).
    fn run_command(&mut self, line: &str) -> Flow {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (None, _) => Flow::Continue,
            (Some("q" | "quit"), None) => Flow::Quit,
            (Some("help"), None) => self.apply(Intent::Help),
            (Some("rules"), None) => self.rules_command(true),
            (Some("reload"), None) => Flow::Send(Action::ReloadRules),
            (Some("source"), Some(name)) => Flow::Send(Action::SwitchSource(name.to_string())),
            (Some("unsilence"), Some(id)) => match id.parse::<u64>() {
                Ok(id) => Flow::Send(Action::Unsilence { id }),
                Err(_) => {
                    self.message = Some(format!(":unsilence {id}: not a silence id"));
                    Flow::Continue
                }
            },
            (Some("alerts"), None) => self.rules_command(false),
            (Some("ns" | "namespace"), arg) => self.namespace_command(arg),
            (Some("ctx" | "context"), _) => {
                // Names may be given with blanks after the commas.
                let rest = line.split_once(char::is_whitespace).map(|(_, r)| r.trim());
                self.context_command(rest)
            }
            (Some("graph"), Some(name)) => match GraphSymbols::from_name(name) {
                Some(sym) => {
                    self.symbols = sym;
                    Flow::Continue
                }
                None => {
                    self.message = Some(format!(
                        ":graph {name}: not a symbol set (braille, block or tty)"
                    ));
                    Flow::Continue
                }
            },
            (Some("theme"), name) => {
                self.message = Some(match name {
                    Some(name) => self.themes.select(name).unwrap_or_else(|e| e),
                    None => format!(
                        "theme: {}; there are {}",
                        self.themes.current_name(),
                        self.themes.catalog().names().join(", ")
                    ),
                });
                Flow::Continue
            }
            (Some("range"), Some(r)) => match RANGE_PRESETS.iter().position(|(n, _)| *n == r) {
                Some(i) => {
                    self.range_preset = i;
                    Flow::Send(Action::SetRange(self.time_range()))
                }
                None => {
                    let names: Vec<&str> = RANGE_PRESETS.iter().map(|(n, _)| *n).collect();
                    self.message = Some(format!(
                        ":range {r}: not a preset (one of {})",
                        names.join(", ")
                    ));
                    Flow::Continue
                }
            },
            (Some(cmd), _) => {
                self.message = Some(format!(":{cmd}: unknown command (try :help)"));
                Flow::Continue
            }
        }
    }
}
