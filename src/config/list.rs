//! Every setting there is, in one list: what the README's *Settings* table says of each, who
//! reads it, and who sets it in Azure. The settings code is held to it (it reads exactly the
//! settings listed as the app's), and so are the README's table and the template
//! (`tests/infra.rs`).

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    /// Its *Default* cell in the README's *Settings* table, as written there; `None` for a
    /// platform's variable the table does not list.
    pub readme_default: Option<&'static str>,
    pub read_by: ReadBy,
    pub set_by: SetBy,
}

/// Who reads a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    /// This binary, at startup ([`super::Settings::from_env`]).
    App,
    /// The Functions host, in a `function.json` binding (`%NAME%`).
    Host,
}

/// Who gives a setting its value in Azure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBy {
    /// `infra/main.bicep`, among the function app's settings.
    Template,
    /// `infra/main.bicep`, only in the case given.
    TemplateWhen(&'static str),
    /// The Functions host or App Service.
    Platform,
    /// Nobody by default: the template leaves it out, for this reason.
    LeftOut(&'static str),
}

const fn app(name: &'static str, readme_default: &'static str, set_by: SetBy) -> Setting {
    Setting {
        name,
        readme_default: Some(readme_default),
        read_by: ReadBy::App,
        set_by,
    }
}

const fn platform(name: &'static str, readme_default: Option<&'static str>) -> Setting {
    Setting {
        name,
        readme_default,
        read_by: ReadBy::App,
        set_by: SetBy::Platform,
    }
}

const LOCAL_ONLY: SetBy = SetBy::LeftOut("local development with an app registration only");
const OPTIONAL: SetBy = SetBy::TemplateWhen("its parameter is given");

/// Every setting, in the README table's order, then the platform's that the table leaves out.
pub const SETTINGS: &[Setting] = &[
    platform("FUNCTIONS_CUSTOMHANDLER_PORT", Some("set by the host")),
    app("GRAPH_CLOUD", "`global`", SetBy::Template),
    app(
        "GRAPH_BASE_URL",
        "the cloud's",
        SetBy::LeftOut("defaults to the cloud's Graph root"),
    ),
    app("GRAPH_API_VERSION", "`v1.0`", SetBy::Template),
    app(
        "ARM_BASE_URL",
        "the cloud's",
        SetBy::LeftOut("read by `doctor` only, which runs outside the app; defaults to the cloud's Resource Manager"),
    ),
    app("GRAPH_AUTH", "`auto`", SetBy::Template),
    app(
        "AZURE_CLIENT_ID",
        "—",
        SetBy::TemplateWhen("a user-assigned identity is used"),
    ),
    app("AZURE_TENANT_ID", "—", LOCAL_ONLY),
    app("AZURE_CLIENT_SECRET", "—", LOCAL_ONLY),
    app(
        "GRAPH_RETRY_BUDGET",
        "`60s` (template: `240s`)",
        SetBy::Template,
    ),
    app(
        "GRAPH_PROXY",
        "none",
        SetBy::LeftOut("optional; for an egress proxy, which the template does not create"),
    ),
    app("RESUME_SOURCE", "`resume-handler`", SetBy::Template),
    app("ALLOWED_WORKFLOW_IDS", "all", OPTIONAL),
    Setting {
        name: "LIST_IN_PROGRESS_SCHEDULE",
        readme_default: Some("`0 */15 * * * *` (settings files)"),
        read_by: ReadBy::Host,
        set_by: SetBy::Template,
    },
    app("LIST_IN_PROGRESS_WORKFLOW_IDS", "all", OPTIONAL),
    app(
        "LIST_IN_PROGRESS_KINDS",
        "`task,accessRequest`",
        SetBy::Template,
    ),
    app("STALE_AFTER", "`1h`", SetBy::Template),
    app(
        "LIST_IN_PROGRESS_REUSE",
        "`0s`",
        SetBy::LeftOut("an operator's trade of freshness for Graph calls; by default a finished report is not reused"),
    ),
    app(
        "SLIPPED_LOOK_BACK",
        "`1h`",
        SetBy::LeftOut("the default suits the template's 15-minute schedule; `0s` turns it off"),
    ),
    app("GRAPH_MAX_CONCURRENCY", "`8`", SetBy::Template),
    // The README's port row names the older port setting in its meaning.
    platform("FUNCTIONS_HTTPWORKER_PORT", None),
    platform("IDENTITY_ENDPOINT", None),
    platform("WEBSITE_INSTANCE_ID", None),
];

/// The listed setting called `name`.
pub fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::super::{Env, Settings};
    use super::*;
    use std::collections::BTreeSet;

    /// Every name the settings code asks for, along each way through authentication.
    fn read_by_the_app() -> BTreeSet<String> {
        let mut asked = BTreeSet::new();
        for auth in [
            vec![],
            vec![("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token")],
            vec![
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
            ],
        ] {
            let mut pairs = vec![("FUNCTIONS_CUSTOMHANDLER_PORT", "7000")];
            pairs.extend(auth);
            let env = Env::from_pairs(pairs);
            Settings::from_env(&env).expect("valid settings");
            asked.extend(env.names_asked());
        }
        asked
    }

    #[test]
    fn the_app_reads_exactly_the_settings_listed_as_its_own() {
        let listed: BTreeSet<String> = SETTINGS
            .iter()
            .filter(|s| s.read_by == ReadBy::App)
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(read_by_the_app(), listed);
    }

    #[test]
    fn each_setting_is_listed_once() {
        let names: BTreeSet<&str> = SETTINGS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SETTINGS.len());
        assert_eq!(setting("STALE_AFTER").unwrap().readme_default, Some("`1h`"));
        assert!(setting("NOT_A_SETTING").is_none());
    }
}
