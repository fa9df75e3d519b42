//! `resume-handler report`: the in-progress report the functions give, swept from this
//! terminal: a table for a person, JSON for a script (or when asked), and progress on
//! stderr while a large tenant is swept.
use super::SIGN_IN;
use crate::app::App;
use crate::command::{Kind, SIGN_IN_FAILED};
use crate::graph::models::Stage;
use crate::graph::Call;
use crate::report::{self, Item, Report, SweepError};
use crate::telemetry::escape;
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use comfy_table::{presets, ColumnConstraint, ContentArrangement, Table, Width};
use indicatif::ProgressBar;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    #[command(flatten)]
    pub(super) filters: Filters,
    /// Print JSON, the same object as the InProgress function's body (the default when
    /// stdout is not a terminal).
    #[arg(long)]
    json: bool,
    /// One item after another instead of a table, each with the command that resumes it
    /// (every id it needs: a task's workflow and task, an access request's stage and callout).
    #[arg(long)]
    wide: bool,
    /// Instead of what waits, what slipped in this long (24h, 7d): task results Entra
    /// failed, and access request callouts that failed or timed out, with why.
    #[arg(
        long,
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        conflicts_with_all = ["stale", "older_than", "wide"]
    )]
    since: Option<Duration>,
}

/// Which waiting items a report keeps.
#[derive(Debug, Args)]
pub(super) struct Filters {
    /// Only the items older than STALE_AFTER (default 1h).
    #[arg(long)]
    stale: bool,
    /// Only the items waiting longer than this (45s, 90m, 2h30m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    older_than: Option<Duration>,
    /// Only this kind of work (and only it is swept).
    #[arg(long, value_enum)]
    pub(super) kind: Option<Kind>,
}

/// `--kind`: the core's own [`Kind`], shown by the one name reports, logs and
/// LIST_IN_PROGRESS_KINDS use ([`Kind::as_str`]), and also taken as a command line spells
/// it ([`Kind::flag_name`], `access-request`), as the setting takes both.
impl ValueEnum for Kind {
    fn value_variants<'a>() -> &'a [Self] {
        &Kind::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.as_str()).help(match self {
            Kind::Task => "Lifecycle Workflows task processing results",
            Kind::AccessRequest => "Entitlement Management access package assignment requests",
        });
        Some(match self.as_str() == self.flag_name() {
            true => value,
            false => value.alias(self.flag_name()),
        })
    }
}

impl Filters {
    /// Whether an item passes the filters.
    pub(super) fn keeps(&self, item: &Item) -> bool {
        let waiting = item.waiting();
        self.kind.is_none_or(|k| k == item.kind())
            && (!self.stale || waiting.is_stale())
            && self
                .older_than
                .is_none_or(|d| waiting.age_seconds.is_some_and(|age| age > d.as_secs()))
    }
}

/// Sweeps the tenant as the timer does, with a spinner on stderr that shows the Graph calls
/// so far; the report filtered by `filters`.
pub(super) async fn sweep(app: &App, filters: &Filters) -> Report {
    let call = Call::with_request_budget(
        uuid::Uuid::new_v4().to_string(),
        app.settings.graph.retry_budget,
        report::SWEEP_BUDGET,
    );
    // Drawn on stderr only when it is a terminal: a script reading stdout sees none of it.
    let progress = ProgressBar::new_spinner();
    let swept = sweeping(app);
    progress.set_message(format!("sweeping {swept}"));
    progress.enable_steady_tick(Duration::from_millis(120));
    let report = {
        let sweep = report::sweep(app, &call);
        tokio::pin!(sweep);
        loop {
            tokio::select! {
                report = &mut sweep => break report,
                _ = tokio::time::sleep(Duration::from_millis(100)) => progress.set_message(
                    format!("sweeping {swept}: {} Graph calls", call.graph_requests())
                ),
            }
        }
    };
    progress.finish_and_clear();
    filtered(report, filters)
}

/// What the sweep covers, in words.
fn sweeping(app: &App) -> &'static str {
    let kinds = &app.settings.report.kinds;
    match (
        kinds.contains(&Kind::Task),
        kinds.contains(&Kind::AccessRequest),
    ) {
        (true, true) => "Lifecycle Workflows and Entitlement Management",
        (false, true) => "Entitlement Management",
        _ => "Lifecycle Workflows",
    }
}

/// The report with only the items `filters` keeps; its counts are of those items.
fn filtered(mut report: Report, filters: &Filters) -> Report {
    report.items.retain(|item| filters.keeps(item));
    report.count_items();
    report
}

pub(super) async fn run(app: &App, args: &ReportArgs) -> ExitCode {
    if let Some(window) = args.since {
        return super::slipped::run(app, window, args.json).await;
    }
    let report = sweep(app, &args.filters).await;
    if args.json || !std::io::stdout().is_terminal() {
        super::print_json(&report);
    } else {
        let text = match args.wide {
            true => blocks(&report),
            false => table(&report, Layout::for_stdout()),
        };
        println!("{text}");
    }
    summarize(&report);
    sweep_exit(&report.errors, report.partial)
}

/// Whether the sweep failed because the credential cannot sign in; says what to do if so.
pub(super) fn cannot_sign_in(errors: &[SweepError]) -> bool {
    let failed = errors.iter().any(|e| e.code == SIGN_IN_FAILED);
    if failed {
        eprintln!("  {SIGN_IN}");
    }
    failed
}

/// One line on stderr: the counts, and every part of the sweep that failed.
pub(super) fn summarize(report: &Report) {
    let found = format!("{} waiting, {} stale", report.count, report.stale_count);
    summarize_sweep(
        &found,
        report.graph_calls,
        report.duration_ms,
        report.partial,
        &report.errors,
    );
}

/// One line on stderr for any sweep: what it found, what it cost, whether it is whole; then
/// every part of it that failed.
pub(super) fn summarize_sweep(
    found: &str,
    graph_calls: u32,
    duration_ms: u64,
    partial: bool,
    errors: &[SweepError],
) {
    eprintln!(
        "{found}; {graph_calls} Graph calls in {:.1} s{}",
        duration_ms as f64 / 1000.0,
        if partial { " (partial: see below)" } else { "" },
    );
    print_errors(errors);
}

/// A sweep's exit code: 2 when the credential cannot sign in (saying what to do), 1 when
/// part of it failed, 0 when it is whole.
pub(super) fn sweep_exit(errors: &[SweepError], partial: bool) -> ExitCode {
    if cannot_sign_in(errors) {
        ExitCode::from(2)
    } else if partial {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Every part of a sweep that failed, a line each on stderr.
pub(super) fn print_errors(errors: &[SweepError]) {
    for error in errors {
        let part = match (error.kind, error.workflow_id.as_deref()) {
            (_, Some(workflow)) => workflow,
            (Some(Kind::Task), None) => "workflows",
            (Some(Kind::AccessRequest), None) => "access package requests",
            (None, None) => "the report",
        };
        eprintln!(
            "  {}: {} {} ({})",
            escape(part),
            error.status,
            escape(&error.code),
            escape(&error.message)
        );
    }
}

/// How wide the table may be.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Layout {
    /// The terminal's width in columns; `None` for no limit.
    pub(super) width: Option<u16>,
}

impl Layout {
    /// For stdout: the terminal's width (`COLUMNS` where it is set).
    pub(super) fn for_stdout() -> Self {
        let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        let terminal = console::Term::stdout()
            .size_checked()
            .map(|(_, width)| width);
        Self {
            width: columns.or(terminal),
        }
    }

    /// Lets `table` wrap its cells within the width, or not at all where there is none.
    pub(super) fn arrange(self, table: &mut Table) {
        match self.width {
            Some(width) => table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width),
            None => table.set_content_arrangement(ContentArrangement::Disabled),
        };
    }
}

/// A column of the table: its header, whether its cells may wrap, and what it shows of an item.
struct Column {
    header: &'static str,
    /// Names wrap; ids, ages and dates do not (an id cut in two cannot be copied).
    wraps: bool,
    cell: fn(&Item) -> String,
}

const fn column(header: &'static str, wraps: bool, cell: fn(&Item) -> String) -> Column {
    Column {
        header,
        wraps,
        cell,
    }
}

/// The columns, in the order they are dropped when the terminal is too narrow even with
/// names wrapped: the last ones are kept longest, and the id always.
const COLUMNS_BY_PRIORITY: [Column; 8] = [
    // A task's subject is an id: it does not wrap.
    column("subject / target", false, subject),
    column("deadline", false, |i| {
        i.waiting().deadline.clone().unwrap_or_default()
    }),
    column("task / stage", true, step),
    column("workflow / access package", true, place),
    column("kind", false, |i| i.kind().as_str().to_string()),
    column("stale", false, stale),
    column("waiting", false, |i| {
        i.waiting().age_seconds.map(age).unwrap_or_default()
    }),
    column("id", false, |i| i.id().to_string()),
];

/// The narrowest a column of names may be wrapped to.
const MIN_NAME_WIDTH: u16 = 16;

/// The order columns are shown in, left to right, by header.
const SHOWN_ORDER: [&str; 8] = [
    "kind",
    "workflow / access package",
    "task / stage",
    "id",
    "subject / target",
    "waiting",
    "deadline",
    "stale",
];

fn place(item: &Item) -> String {
    match item {
        Item::Task(t) => t.result.workflow_name.to_string(),
        Item::AccessRequest(r) => r
            .access_package_name
            .clone()
            .or_else(|| r.access_package_id.clone())
            .unwrap_or_default(),
    }
}

fn step(item: &Item) -> String {
    match item {
        Item::Task(t) => t.result.task_name.to_string(),
        Item::AccessRequest(r) => r
            .stage
            .as_ref()
            .map_or("(unknown)", Stage::as_str)
            .to_string(),
    }
}

fn subject(item: &Item) -> String {
    match item {
        Item::Task(t) => t.result.subject_id.clone(),
        Item::AccessRequest(r) => r.target_name.clone().or_else(|| r.target_id.clone()),
    }
    .unwrap_or_default()
}

fn stale(item: &Item) -> String {
    match item.waiting().stale {
        Some(true) => "stale",
        Some(false) => "",
        None => "unknown",
    }
    .to_string()
}

/// The command that resumes an item, with every id it needs; the decision is left to the
/// operator.
fn resume_command(item: &Item) -> String {
    match item {
        Item::Task(t) => format!(
            "resume-handler resume task --workflow-id {} --task-id {} --task-processing-result-id {} --status <completed|failed>",
            t.result.workflow_id, t.result.task_id, t.result.task_processing_result_id
        ),
        Item::AccessRequest(r) => format!(
            "resume-handler resume access-request --assignment-request-id {} --stage {} --custom-extension-stage-instance-id {} [--state denied]",
            r.assignment_request_id,
            r.stage.as_ref().map_or("<stage>", Stage::as_str),
            r.custom_extension_stage_instance_id
        ),
    }
}

/// `--wide`: the waiting items one by one, each with what it is and the command that
/// resumes it, every id included.
pub(super) fn blocks(report: &Report) -> String {
    let mut text = String::new();
    for (n, item) in report.items.iter().enumerate() {
        let line = [
            item.kind().as_str().to_string(),
            format!("{} › {}", place(item), step(item)),
            format!("for {}", subject(item)),
            format!(
                "waiting {}",
                item.waiting()
                    .age_seconds
                    .map(age)
                    .unwrap_or("(unknown)".into())
            ),
            stale(item),
            item.waiting()
                .deadline
                .clone()
                .map(|d| format!("deadline {d}"))
                .unwrap_or_default(),
        ]
        .into_iter()
        .filter(|part| !part.is_empty() && part != "for ")
        .collect::<Vec<_>>()
        .join(" · ");
        // Escaped as every cell of the table is.
        text.push_str(&format!(
            "{}. {}\n   {}\n",
            n + 1,
            escape(&line),
            escape(&resume_command(item))
        ));
    }
    text
}

/// The waiting items as a table, oldest first: a row each, whatever its kind. Within a
/// width, names wrap inside their cells; if the table is still too wide, columns are dropped
/// in [`COLUMNS_BY_PRIORITY`] order, and a line under the table says which.
pub(super) fn table(report: &Report, layout: Layout) -> String {
    let mut columns: Vec<&Column> = COLUMNS_BY_PRIORITY.iter().collect();
    let mut dropped = Vec::new();
    loop {
        let text = table_of(report, &columns, layout.width);
        let fits = layout.width.is_none_or(|width| {
            text.lines()
                .all(|line| console::measure_text_width(line) <= usize::from(width))
        });
        // The id is never dropped: without it, a row names nothing to act on.
        if fits || columns.len() == 1 {
            return match dropped.is_empty() {
                true => text,
                false => format!(
                    "{text}\n(too narrow for {}: widen the terminal, or use --json)",
                    dropped.join(", ")
                ),
            };
        }
        dropped.push(columns.remove(0).header);
    }
}

fn table_of(report: &Report, columns: &[&Column], width: Option<u16>) -> String {
    let mut shown: Vec<&Column> = columns.to_vec();
    shown.sort_by_key(|c| SHOWN_ORDER.iter().position(|h| *h == c.header));
    let mut table = Table::new();
    table
        .load_style(presets::ASCII_BORDERS_ONLY_CONDENSED)
        .set_header(shown.iter().map(|c| c.header));
    Layout { width }.arrange(&mut table);
    if width.is_some() {
        for (index, column) in shown.iter().enumerate() {
            // A name squeezed under MIN_NAME_WIDTH reads as noise: a column is dropped
            // instead (the table then comes out too wide, and `table` drops one).
            let constraint = match column.wraps {
                true => ColumnConstraint::LowerBoundary(Width::Fixed(MIN_NAME_WIDTH)),
                false => ColumnConstraint::ContentWidth,
            };
            if let Some(c) = table.column_mut(index) {
                c.set_constraint(constraint);
            }
        }
    }
    for item in &report.items {
        // Names come from Graph, and some are chosen by their owners (a guest names
        // themself): every cell is escaped, so none can move the cursor, erase the table
        // or write to the clipboard, as `--json` escapes them.
        table.add_row(
            shown
                .iter()
                .map(|column| escape(&(column.cell)(item)).into_owned()),
        );
    }
    table.to_string()
}

/// `5400` → `1h 30m`.
fn age(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AccessRequestItem, NamedTaskResult, TaskItem, Waiting};

    fn waiting(age_seconds: Option<u64>, stale: bool) -> Waiting {
        Waiting {
            started_date_time: None,
            age_seconds,
            deadline: None,
            stale: age_seconds.map(|_| stale),
            overdue: false,
        }
    }

    fn item(age_seconds: Option<u64>, stale: bool) -> Item {
        Item::Task(TaskItem {
            result: NamedTaskResult {
                workflow_id: crate::command::id("wf"),
                workflow_name: "Onboarding".into(),
                task_id: crate::command::id("t"),
                task_name: "Provision".into(),
                task_processing_result_id: "r".into(),
                subject_id: Some("u".into()),
            },
            waiting: waiting(age_seconds, stale),
        })
    }

    fn request(age_seconds: Option<u64>, stale: bool) -> Item {
        Item::AccessRequest(Box::new(AccessRequestItem {
            assignment_request_id: "req".into(),
            access_package_id: Some("ap".into()),
            access_package_name: Some("Sales tools".into()),
            stage: None,
            custom_extension_stage_instance_id: "callout".into(),
            custom_extension_id: None,
            target_id: Some("user".into()),
            target_name: None,
            request_state: Some("submitted".into()),
            request_created_date_time: None,
            waiting: waiting(age_seconds, stale),
        }))
    }

    #[test]
    fn ages_read_as_a_person_says_them() {
        assert_eq!(age(59), "0m");
        assert_eq!(age(5_400), "1h 30m");
        assert_eq!(age(90_000), "1d 1h");
    }

    #[test]
    fn filters_keep_stale_or_older_items_only() {
        let args = |stale, older_than| Filters {
            stale,
            older_than,
            kind: None,
        };
        let (young, old) = (item(Some(60), false), item(Some(7_200), true));
        assert!(args(false, None).keeps(&young));
        assert!(!args(true, None).keeps(&young) && args(true, None).keeps(&old));
        let hour = Some(Duration::from_secs(3_600));
        assert!(!args(false, hour).keeps(&young) && args(false, hour).keeps(&old));
        assert!(
            !args(false, hour).keeps(&item(None, false)),
            "no age, not older"
        );
    }

    #[test]
    fn the_kind_filter_keeps_one_kind() {
        let only = |kind| Filters {
            stale: false,
            older_than: None,
            kind: Some(kind),
        };
        let (task, request) = (item(None, false), request(None, false));
        assert!(only(Kind::Task).keeps(&task) && !only(Kind::Task).keeps(&request));
        assert!(only(Kind::AccessRequest).keeps(&request));
        assert!(!only(Kind::AccessRequest).keeps(&task));
    }

    #[test]
    fn the_table_has_a_row_per_item() {
        let report = Report {
            count: 1,
            stale_count: 1,
            unknown_age_count: 1,
            unknown_age_overdue_count: 0,
            partial: false,
            graph_calls: 3,
            duration_ms: 10,
            items: vec![item(Some(5_400), true), request(None, false)],
            errors: vec![],
        };
        let table = table(&report, Layout::default());
        assert!(
            table.contains("Onboarding") && table.contains("1h 30m") && table.contains("stale")
        );
        assert_eq!(table.lines().filter(|l| l.contains("Provision")).count(), 1);
        let row = table.lines().find(|l| l.contains("Sales tools")).unwrap();
        assert!(row.contains("accessRequest") && row.contains("(unknown)") && row.contains("user"));
    }

    fn report_of(items: Vec<Item>) -> Report {
        Report {
            count: items.len(),
            stale_count: 0,
            unknown_age_count: 0,
            unknown_age_overdue_count: 0,
            partial: false,
            graph_calls: 1,
            duration_ms: 1,
            items,
            errors: vec![],
        }
    }

    #[test]
    fn a_table_fits_the_terminal_by_wrapping_names_then_dropping_columns() {
        let mut long = item(Some(5_400), true);
        if let Item::Task(t) = &mut long {
            t.result.workflow_name =
                "Leaver offboarding for the whole EMEA sales organisation".into();
            t.result.task_name = "Notify the manager and revoke every licence".into();
        }
        let report = report_of(vec![long, request(Some(60), false)]);
        // The table's own lines; a note under it may wrap like any text.
        let width_of = |text: &str| {
            text.lines()
                .filter(|l| l.starts_with(['+', '|']))
                .map(console::measure_text_width)
                .max()
                .unwrap()
        };
        let unlimited = table(&report, Layout::default());
        assert!(width_of(&unlimited) > 100, "{unlimited}");
        for columns in [160, 100] {
            let fitted = table(
                &report,
                Layout {
                    width: Some(columns),
                },
            );
            assert!(
                width_of(&fitted) <= usize::from(columns),
                "{columns}:\n{fitted}"
            );
            assert!(
                fitted.contains("1h 30m") && fitted.contains("stale"),
                "{fitted}"
            );
            assert!(
                fitted.contains("Leaver offboarding"),
                "names wrap: {fitted}"
            );
        }
        let wide = table(&report, Layout { width: Some(160) });
        assert!(
            !wide.contains("too narrow"),
            "160 columns hold every column:\n{wide}"
        );
        let narrow = table(&report, Layout { width: Some(40) });
        assert!(width_of(&narrow) <= 40, "{narrow}");
        assert!(
            narrow.contains("too narrow for subject / target, deadline"),
            "{narrow}"
        );
        assert!(
            narrow.contains("callout") || narrow.contains("req"),
            "the id stays: {narrow}"
        );
    }

    #[test]
    fn wide_gives_each_item_the_command_that_resumes_it() {
        let report = report_of(vec![item(Some(60), false), request(Some(60), false)]);
        let text = blocks(&report);
        assert!(
            text.starts_with("1. task · Onboarding › Provision · for u · waiting 1m"),
            "{text}"
        );
        assert!(text.contains("resume-handler resume task --workflow-id wf --task-id t --task-processing-result-id r --status <completed|failed>"), "{text}");
        assert!(
            text.contains("2. accessRequest · Sales tools › (unknown) · for user"),
            "{text}"
        );
        assert!(text.contains("--assignment-request-id req --stage <stage> --custom-extension-stage-instance-id callout"), "{text}");
    }

    #[test]
    fn names_from_graph_cannot_drive_the_terminal() {
        let mut hostile = request(Some(60), false);
        if let Item::AccessRequest(r) = &mut hostile {
            // A clipboard write (OSC 52), cursor up and erase line, a bell.
            r.target_name = Some("Eve\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[1A\u{1b}[2K".into());
            r.access_package_name = Some("Sales\r\ntools".into());
        }
        let report = Report {
            count: 1,
            stale_count: 0,
            unknown_age_count: 0,
            unknown_age_overdue_count: 0,
            partial: false,
            graph_calls: 1,
            duration_ms: 1,
            items: vec![hostile],
            errors: vec![],
        };
        let table = table(&report, Layout::default());
        assert!(
            !table.chars().any(|c| c.is_control() && c != '\n'),
            "{table:?}"
        );
        assert!(table.contains("Eve\\u{1b}]52;c;"), "{table}");
        assert_eq!(table.lines().count(), 5, "no cell adds a line: {table}");
    }
}
