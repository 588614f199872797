//! The PromQL abstract syntax tree. The parser builds it, the printer (`Display`) turns it
//! back into canonical PromQL, and the engine walks it. Every node carries the byte span of
//! the text it came from, so errors found later (type errors, evaluation errors) can still
//! point at the query.
//!
//! Durations and timestamps are integer milliseconds. Duration expressions (the
//! experimental `[2m*15]` form) are folded to their value by the parser, so the engine
//! never sees them.

use crate::model::Matcher;

use super::signatures::Function;

/// A half-open byte range `[start, end)` of the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// The type of a PromQL expression's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    Scalar,
    /// Instant vector.
    Vector,
    /// Range vector.
    Matrix,
    String,
}

impl ValueType {
    /// The name Prometheus uses in messages and in the API's `resultType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }

    /// The longer form used in type errors ("instant vector", "range vector").
    pub fn document_name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

/// `@ <timestamp>`, `@ start()` or `@ end()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Milliseconds since the epoch.
    Time(i64),
    Start,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(NumberLiteral),
    String(StringLiteral),
    VectorSelector(VectorSelector),
    MatrixSelector(MatrixSelector),
    Subquery(SubqueryExpr),
    Paren(ParenExpr),
    Unary(UnaryExpr),
    Binary(BinaryExpr),
    Aggregate(AggregateExpr),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberLiteral {
    pub value: f64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    /// The unescaped value.
    pub value: String,
    pub span: Span,
}

/// `name{matchers} offset D @ T`. When a name is written, `matchers` also holds the
/// equivalent `__name__="name"` matcher (first), as Prometheus does; the printer uses
/// `name` to print the short form.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
    /// Offset in milliseconds (may be negative); 0 when absent.
    pub offset: i64,
    pub at: Option<At>,
    pub span: Span,
}

/// `selector[range]`. The offset and `@` live on `selector`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    pub selector: VectorSelector,
    /// Range in milliseconds, > 0.
    pub range: i64,
    pub span: Span,
}

/// `expr[range:step] offset D @ T`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubqueryExpr {
    pub expr: Box<Expr>,
    pub range: i64,
    /// `None` when written as `[range:]`: the engine's default subquery step applies.
    pub step: Option<i64>,
    pub offset: i64,
    pub at: Option<At>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParenExpr {
    pub expr: Box<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnaryExpr {
    pub op: UnaryOp,
    pub expr: Box<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eql => "==",
            BinOp::Neq => "!=",
            BinOp::Gtr => ">",
            BinOp::Lss => "<",
            BinOp::Gte => ">=",
            BinOp::Lte => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// Binding strength, higher binds tighter: `or` 1, `and`/`unless` 2, comparisons 3,
    /// `+ -` 4, `* / % atan2` 5, `^` 6 (right-associative).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Atan2 => 5,
            BinOp::Pow => 6,
        }
    }

    pub fn is_right_associative(self) -> bool {
        self == BinOp::Pow
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// How the two sides of a vector/vector binary operation are matched.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// The labels of `on(...)` or `ignoring(...)`.
    pub labels: Vec<String>,
    /// true for `on`, false for `ignoring` (and for no modifier, with empty `labels`).
    pub on: bool,
    /// The labels of `group_left(...)`/`group_right(...)`.
    pub include: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    pub op: BinOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
    /// The `bool` modifier of a comparison.
    pub return_bool: bool,
    /// Set when both sides are vectors (also for set operators, with `ManyToMany`).
    pub matching: Option<VectorMatching>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
    /// Experimental.
    Limitk,
    /// Experimental.
    LimitRatio,
}

impl AggOp {
    pub const ALL: [AggOp; 14] = [
        AggOp::Sum,
        AggOp::Avg,
        AggOp::Count,
        AggOp::Min,
        AggOp::Max,
        AggOp::Group,
        AggOp::Stddev,
        AggOp::Stdvar,
        AggOp::Topk,
        AggOp::Bottomk,
        AggOp::CountValues,
        AggOp::Quantile,
        AggOp::Limitk,
        AggOp::LimitRatio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Count => "count",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Group => "group",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::CountValues => "count_values",
            AggOp::Quantile => "quantile",
            AggOp::Limitk => "limitk",
            AggOp::LimitRatio => "limit_ratio",
        }
    }

    /// Case-insensitive lookup, as the PromQL lexer treats aggregation keywords.
    pub fn from_name(name: &str) -> Option<AggOp> {
        AggOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether the aggregation takes a parameter before the expression.
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggOp::Topk
                | AggOp::Bottomk
                | AggOp::CountValues
                | AggOp::Quantile
                | AggOp::Limitk
                | AggOp::LimitRatio
        )
    }

    pub fn is_experimental(self) -> bool {
        matches!(self, AggOp::Limitk | AggOp::LimitRatio)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateExpr {
    pub op: AggOp,
    pub expr: Box<Expr>,
    pub param: Option<Box<Expr>>,
    /// The labels of `by (...)` or `without (...)`.
    pub grouping: Vec<String>,
    pub without: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: &'static Function,
    pub args: Vec<Expr>,
    pub span: Span,
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(e) => e.span,
            Expr::String(e) => e.span,
            Expr::VectorSelector(e) => e.span,
            Expr::MatrixSelector(e) => e.span,
            Expr::Subquery(e) => e.span,
            Expr::Paren(e) => e.span,
            Expr::Unary(e) => e.span,
            Expr::Binary(e) => e.span,
            Expr::Aggregate(e) => e.span,
            Expr::Call(e) => e.span,
        }
    }

    /// The static type of the expression's value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::VectorSelector(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Paren(e) => e.expr.value_type(),
            Expr::Unary(e) => e.expr.value_type(),
            Expr::Binary(e) => {
                if e.lhs.value_type() == ValueType::Scalar
                    && e.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Aggregate(_) => ValueType::Vector,
            Expr::Call(c) => c.func.return_type,
        }
    }

    /// Strips any number of enclosing parentheses.
    pub fn unparen(&self) -> &Expr {
        let mut e = self;
        while let Expr::Paren(p) = e {
            e = &p.expr;
        }
        e
    }

    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) => {}
            Expr::MatrixSelector(_) => {}
            Expr::Subquery(e) => e.expr.walk(f),
            Expr::Paren(e) => e.expr.walk(f),
            Expr::Unary(e) => e.expr.walk(f),
            Expr::Binary(e) => {
                e.lhs.walk(f);
                e.rhs.walk(f);
            }
            Expr::Aggregate(e) => {
                if let Some(p) = &e.param {
                    p.walk(f);
                }
                e.expr.walk(f);
            }
            Expr::Call(c) => {
                for a in &c.args {
                    a.walk(f);
                }
            }
        }
    }
}
