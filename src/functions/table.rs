//! The functions of this app, one per folder at the repository root: each name parsed once
//! into what it does and how it is triggered. Everything that differs between functions is
//! derived from this table, so a new function is one line here (and its folder), and a new
//! operation or trigger is a compile error at each place that must handle it.
use crate::command::Kind;
use strum::{EnumIter, IntoEnumIterator, IntoStaticStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, IntoStaticStr)]
pub enum Function {
    ResumeTask,
    ResumeTaskQueue,
    ResumeAccessRequest,
    ResumeAccessRequestQueue,
    ListInProgress,
    InProgress,
}

/// What a function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Resume(Kind),
    ListInProgress,
}

/// How a function's invocations arrive, and so how it answers: HTTP through `Outputs.res`,
/// the others through `ReturnValue` and the invocation's own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Http,
    Queue,
    Timer,
}

impl Function {
    /// The function folder's name, as the host sends it in `POST /{FunctionName}`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::iter().find(|f| f.name() == name)
    }

    pub fn all() -> impl Iterator<Item = Self> {
        Self::iter()
    }

    pub fn operation(self) -> Operation {
        use Function::*;
        match self {
            ResumeTask | ResumeTaskQueue => Operation::Resume(Kind::Task),
            ResumeAccessRequest | ResumeAccessRequestQueue => {
                Operation::Resume(Kind::AccessRequest)
            }
            ListInProgress | InProgress => Operation::ListInProgress,
        }
    }

    pub fn trigger(self) -> Trigger {
        use Function::*;
        match self {
            ResumeTask | ResumeAccessRequest | InProgress => Trigger::Http,
            ResumeTaskQueue | ResumeAccessRequestQueue => Trigger::Queue,
            ListInProgress => Trigger::Timer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_found_by_its_folder_name_and_no_other() {
        assert_eq!(Function::all().count(), 6);
        for function in Function::all() {
            assert_eq!(Function::from_name(function.name()), Some(function));
        }
        assert_eq!(Function::from_name("resumetask"), None);
        assert_eq!(Function::from_name("ResumeTaskQueueX"), None);
        assert_eq!(
            Function::ResumeAccessRequestQueue.operation(),
            Operation::Resume(Kind::AccessRequest)
        );
        assert_eq!(Function::InProgress.trigger(), Trigger::Http);
    }
}
