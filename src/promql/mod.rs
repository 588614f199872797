//! PromQL with Prometheus 3.5 semantics: `parser` (lexer, AST, errors, printer),
//! `engine` (instant and range evaluation over `storage::Queryable`), `functions`,
//! and `promqltest` (the upstream conformance-test format and its runner).

pub mod ast;
pub mod engine;
pub mod functions;
pub mod gonum;
pub mod mathutil;
pub mod parser;
pub mod promqltest;
pub mod signatures;
pub mod value;

pub use ast::{Expr, Span, ValueType};
pub use engine::{Cancel, Engine, EngineOptions, QueryError, QueryResult};
pub use parser::{ParseError, ParseOptions, parse, parse_with};
pub use value::{Annotation, AnnotationKind, Annotations, Value};
