//! The values a PromQL expression evaluates to, and the annotations (warnings and infos)
//! an evaluation collects on the way.

use crate::model::Labels;

use super::ast::{Span, ValueType};

/// One float point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub f: f64,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    pub metric: Labels,
    pub t: i64,
    pub f: f64,
    /// Set where Prometheus drops the metric name (functions, arithmetic). The engine
    /// strips `__name__` (and `__type__`/`__unit__`) from samples that carry it, at once or,
    /// with delayed name removal, at the end of the query.
    pub drop_name: bool,
}

pub type Vector = Vec<VectorSample>;

/// One series of a range vector (a matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSeries {
    pub metric: Labels,
    pub points: Vec<Point>,
    pub drop_name: bool,
}

pub type Matrix = Vec<MatrixSeries>;

/// The result of evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vector),
    Matrix(Matrix),
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar { .. } => ValueType::Scalar,
            Value::String { .. } => ValueType::String,
            Value::Vector(_) => ValueType::Vector,
            Value::Matrix(_) => ValueType::Matrix,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnnotationKind {
    Warning,
    Info,
}

/// A warning or info attached to a query result, e.g. "metric might not be a counter,
/// name does not end in _total/_sum/_count/_bucket: \"foo\"".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Annotation {
    pub kind: AnnotationKind,
    /// The message without the `PromQL warning: ` prefix and without a position.
    pub message: String,
    /// Where in the query it arose, when known.
    pub span: Option<Span>,
}

impl Annotation {
    pub fn warning(message: impl Into<String>, span: Option<Span>) -> Self {
        Annotation {
            kind: AnnotationKind::Warning,
            message: message.into(),
            span,
        }
    }

    pub fn info(message: impl Into<String>, span: Option<Span>) -> Self {
        Annotation {
            kind: AnnotationKind::Info,
            message: message.into(),
            span,
        }
    }

    /// `PromQL warning: <message>` / `PromQL info: <message>`, the text the promqltest
    /// runner compares.
    pub fn text(&self) -> String {
        match self.kind {
            AnnotationKind::Warning => format!("PromQL warning: {}", self.message),
            AnnotationKind::Info => format!("PromQL info: {}", self.message),
        }
    }
}

/// The annotations of one query, without duplicates, in the order they were first added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations(Vec<Annotation>);

impl Annotations {
    pub fn add(&mut self, a: Annotation) {
        if !self.0.contains(&a) {
            self.0.push(a);
        }
    }

    pub fn extend(&mut self, other: Annotations) {
        for a in other.0 {
            self.add(a);
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Annotation> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Annotation> {
        self.0.iter().filter(|a| a.kind == AnnotationKind::Warning)
    }

    pub fn infos(&self) -> impl Iterator<Item = &Annotation> {
        self.0.iter().filter(|a| a.kind == AnnotationKind::Info)
    }
}
