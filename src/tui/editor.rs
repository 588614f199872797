//! A one-line text editor for the query bar and the `:` command line: the text, a cursor
//! on a character boundary, the usual readline edits (word moves, Ctrl-W, Ctrl-U, Ctrl-K),
//! and a history walked with Up/Down or searched backwards (Ctrl-R). Pure state; the view
//! state owns one per line and the screens draw it.

/// The line being edited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEditor {
    text: String,
    /// Byte offset of the cursor, always on a char boundary.
    cursor: usize,
}

impl LineEditor {
    pub fn new(text: &str) -> Self {
        LineEditor {
            text: text.to_string(),
            cursor: text.len(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor's byte offset.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The cursor's column: characters before it.
    pub fn cursor_column(&self) -> usize {
        self.text[..self.cursor].chars().count()
    }

    /// Replaces the text and puts the cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    /// Replaces the byte range `range` (clamped to char boundaries) by `with` and puts
    /// the cursor after it.
    pub fn replace(&mut self, range: std::ops::Range<usize>, with: &str) {
        let start = floor_boundary(&self.text, range.start.min(self.text.len()));
        let end = floor_boundary(&self.text, range.end.clamp(start, self.text.len()));
        self.text.replace_range(start..end, with);
        self.cursor = start + with.len();
    }

    pub fn insert(&mut self, c: char) {
        // Control characters (a pasted newline or tab) would break the one-line layout.
        let c = if c.is_control() { ' ' } else { c };
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            self.insert(c);
        }
    }

    pub fn left(&mut self) {
        self.cursor = prev_boundary(&self.text, self.cursor);
    }

    pub fn right(&mut self) {
        self.cursor = next_boundary(&self.text, self.cursor);
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// To the start of the word before the cursor.
    pub fn word_left(&mut self) {
        self.cursor = word_start(&self.text, self.cursor);
    }

    /// To the end of the word after the cursor.
    pub fn word_right(&mut self) {
        let rest = &self.text[self.cursor..];
        let skip_space = rest.len() - rest.trim_start_matches(|c: char| !is_word(c)).len();
        let after = &rest[skip_space..];
        let word = after.len() - after.trim_start_matches(is_word).len();
        self.cursor += skip_space + word;
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        let start = prev_boundary(&self.text, self.cursor);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        let end = next_boundary(&self.text, self.cursor);
        self.text.replace_range(self.cursor..end, "");
    }

    /// Deletes the word before the cursor (Ctrl-W).
    pub fn delete_word(&mut self) {
        let start = word_start(&self.text, self.cursor);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Clears the line (Ctrl-U).
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// Deletes from the cursor to the end (Ctrl-K).
    pub fn kill_to_end(&mut self) {
        self.text.truncate(self.cursor);
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

fn word_start(text: &str, cursor: usize) -> usize {
    let before = &text[..cursor];
    let trimmed = before.trim_end_matches(|c: char| !is_word(c));
    trimmed.trim_end_matches(is_word).len()
}

fn prev_boundary(text: &str, i: usize) -> usize {
    text[..i].char_indices().next_back().map_or(0, |(j, _)| j)
}

fn next_boundary(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(i, |c| i + c.len_utf8())
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Past entries, oldest first, with a position while walking them and the draft that was
/// being typed before the walk began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    entries: Vec<String>,
    /// Index into `entries` while walking; `None` at the draft.
    pos: Option<usize>,
    draft: String,
    /// Ctrl-R: the search text and the entry it matched.
    search: Option<Search>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Search {
    needle: String,
    hit: Option<usize>,
}

/// The most entries kept.
pub const HISTORY_MAX: usize = 1000;

impl History {
    pub fn new(entries: Vec<String>) -> Self {
        let mut h = History::default();
        for e in entries {
            h.push(&e);
        }
        h
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Adds a submitted line (not blank, not the same as the last one) and ends any walk.
    pub fn push(&mut self, line: &str) {
        self.pos = None;
        self.search = None;
        let line = line.trim();
        if line.is_empty() || self.entries.last().is_some_and(|l| l == line) {
            return;
        }
        self.entries.push(line.to_string());
        if self.entries.len() > HISTORY_MAX {
            self.entries.remove(0);
        }
    }

    /// Up: the previous entry into `editor` (the draft is kept for the way back).
    pub fn prev(&mut self, editor: &mut LineEditor) {
        self.search = None;
        let next = match self.pos {
            None if self.entries.is_empty() => return,
            None => {
                self.draft = editor.text().to_string();
                self.entries.len() - 1
            }
            Some(0) => return,
            Some(p) => p - 1,
        };
        self.pos = Some(next);
        editor.set(&self.entries[next]);
    }

    /// Down: the next entry, or the draft after the newest one.
    pub fn next(&mut self, editor: &mut LineEditor) {
        self.search = None;
        match self.pos {
            None => {}
            Some(p) if p + 1 < self.entries.len() => {
                self.pos = Some(p + 1);
                editor.set(&self.entries[p + 1]);
            }
            Some(_) => {
                self.pos = None;
                editor.set(&std::mem::take(&mut self.draft));
            }
        }
    }

    /// Whether a Ctrl-R search is under way.
    pub fn searching(&self) -> bool {
        self.search.is_some()
    }

    /// The search text and whether it matched, for the prompt.
    pub fn search_status(&self) -> Option<(&str, bool)> {
        self.search
            .as_ref()
            .map(|s| (s.needle.as_str(), s.hit.is_some()))
    }

    /// Ctrl-R: starts a search, or (when one is under way) finds the next older match.
    pub fn search_older(&mut self, editor: &mut LineEditor) {
        match &mut self.search {
            None => {
                self.draft = editor.text().to_string();
                self.search = Some(Search::default());
            }
            Some(s) => {
                let before = s.hit.unwrap_or(self.entries.len());
                s.hit = find_before(&self.entries, &s.needle, before).or(s.hit);
            }
        }
        self.show_hit(editor);
    }

    /// A character typed during a search narrows it (from the newest entry).
    pub fn search_type(&mut self, c: char, editor: &mut LineEditor) {
        if let Some(s) = &mut self.search {
            s.needle.push(c);
            s.hit = find_before(&self.entries, &s.needle, self.entries.len());
        }
        self.show_hit(editor);
    }

    /// Backspace during a search.
    pub fn search_backspace(&mut self, editor: &mut LineEditor) {
        if let Some(s) = &mut self.search {
            s.needle.pop();
            s.hit = find_before(&self.entries, &s.needle, self.entries.len());
        }
        self.show_hit(editor);
    }

    /// Ends the search, keeping the matched entry in the editor (`accept`) or going back to
    /// the draft.
    pub fn end_search(&mut self, editor: &mut LineEditor, accept: bool) {
        if self.search.take().is_some() && !accept {
            editor.set(&std::mem::take(&mut self.draft));
        }
    }

    fn show_hit(&self, editor: &mut LineEditor) {
        if let Some(Search { hit: Some(i), .. }) = &self.search {
            editor.set(&self.entries[*i]);
        }
    }
}

/// The newest entry before `before` that contains `needle`.
fn find_before(entries: &[String], needle: &str, before: usize) -> Option<usize> {
    entries[..before.min(entries.len())]
        .iter()
        .rposition(|e| e.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_keeps_the_cursor_on_char_boundaries() {
        let mut e = LineEditor::default();
        for c in "rate(x[5m])".chars() {
            e.insert(c);
        }
        assert_eq!((e.text(), e.cursor()), ("rate(x[5m])", 11));
        e.home();
        e.word_right();
        assert_eq!(e.cursor(), 4);
        e.end();
        e.word_left();
        assert_eq!(&e.text()[e.cursor()..], "5m])");
        e.end();
        e.backspace();
        e.backspace();
        assert_eq!(e.text(), "rate(x[5m");
        e.delete_word();
        assert_eq!(e.text(), "rate(x[");
        e.home();
        e.delete();
        assert_eq!(e.text(), "ate(x[");
        e.right();
        e.kill_to_end();
        assert_eq!(e.text(), "a");
        e.clear();
        assert_eq!((e.text(), e.cursor()), ("", 0));

        let mut u = LineEditor::new("{a=\"ü€\"}");
        u.left();
        u.left();
        u.backspace();
        assert_eq!(u.text(), "{a=\"ü\"}");
        assert_eq!(u.cursor_column(), 5);
        u.insert('\n');
        assert_eq!(u.text(), "{a=\"ü \"}");
        u.replace(1..99, "b");
        assert_eq!((u.text(), u.cursor()), ("{b", 2));
        // Moves at the ends do nothing.
        u.home();
        u.left();
        u.backspace();
        u.word_left();
        assert_eq!(u.cursor(), 0);
        u.end();
        u.right();
        u.delete();
        u.word_right();
        assert_eq!(u.text(), "{b");
    }

    #[test]
    fn history_walks_and_restores_the_draft() {
        let mut h = History::new(vec![
            "up".into(),
            "up".into(),
            " ".into(),
            "rate(x[5m])".into(),
        ]);
        assert_eq!(h.entries(), ["up", "rate(x[5m])"]);
        let mut e = LineEditor::new("sum(");
        h.next(&mut e);
        assert_eq!(e.text(), "sum(");
        h.prev(&mut e);
        assert_eq!(e.text(), "rate(x[5m])");
        h.prev(&mut e);
        h.prev(&mut e);
        assert_eq!(e.text(), "up");
        h.next(&mut e);
        h.next(&mut e);
        assert_eq!(e.text(), "sum(");
        h.push("sum(x)");
        assert_eq!(h.entries().last().map(String::as_str), Some("sum(x)"));
    }

    #[test]
    fn ctrl_r_searches_backwards_and_can_be_cancelled() {
        let mut h = History::new(vec![
            "rate(a[5m])".into(),
            "up".into(),
            "rate(b[1m])".into(),
        ]);
        let mut e = LineEditor::new("draft");
        h.search_older(&mut e);
        assert!(h.searching());
        for c in "rate".chars() {
            h.search_type(c, &mut e);
        }
        assert_eq!(e.text(), "rate(b[1m])");
        h.search_older(&mut e);
        assert_eq!(e.text(), "rate(a[5m])");
        h.search_older(&mut e); // no older match: stays
        assert_eq!(e.text(), "rate(a[5m])");
        assert_eq!(h.search_status(), Some(("rate", true)));
        h.search_type('x', &mut e);
        assert_eq!(h.search_status(), Some(("ratex", false)));
        h.search_backspace(&mut e);
        h.end_search(&mut e, false);
        assert_eq!(e.text(), "draft");
        h.search_older(&mut e);
        h.search_type('u', &mut e);
        h.end_search(&mut e, true);
        assert_eq!(e.text(), "up");
        assert!(!h.searching());
    }

    #[test]
    fn history_is_capped() {
        let h = History::new((0..HISTORY_MAX + 5).map(|i| format!("q{i}")).collect());
        assert_eq!(h.entries().len(), HISTORY_MAX);
        assert_eq!(h.entries()[0], "q5");
    }
}
