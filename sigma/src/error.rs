//! A rule's error, as a value: a code, a message, where in the rule file
//! it is and a hint. The CLI renders it as a miette diagnostic over the
//! file ([`Report`]); nothing here prints.

use std::fmt;
use std::ops::Range;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaError {
    /// `glaux::sigma_yaml`, `glaux::sigma_rule`, `glaux::sigma_modifier`,
    /// `glaux::sigma_condition`, `glaux::sigma_unsupported`.
    pub code: &'static str,
    pub message: String,
    /// Bytes of the rule file.
    pub span: Option<Range<usize>>,
    pub label: String,
    pub help: Option<String>,
}

impl SigmaError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        SigmaError {
            code,
            message: message.into(),
            span: None,
            label: String::new(),
            help: None,
        }
    }

    pub fn at(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The error with its file, ready to render.
    pub fn with_file(self, name: &str, text: &str) -> Report {
        Report {
            error: self,
            source: NamedSource::new(name, text.to_string()),
        }
    }
}

impl fmt::Display for SigmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SigmaError {}

/// A [`SigmaError`] with the rule file it is about: what miette renders.
#[derive(Debug)]
pub struct Report {
    pub error: SigmaError,
    pub source: NamedSource<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.error.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.error
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.error
            .span
            .as_ref()
            .map(|_| &self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.error.span.clone()?;
        let label = (!self.error.label.is_empty()).then(|| self.error.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label,
            span.start,
            span.end - span.start,
        ))))
    }
}
