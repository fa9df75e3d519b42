//! The emulator's shared state: the tenant behind one lock, an index from task processing
//! result id to its place, issued tokens, faults, the rate limit and counters.
use crate::faults::{Fault, RateLimit};
use crate::model::{AssignmentRequest, TaskProcessingResult, Tenant};
use crate::Settings;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// Where a task processing result lives: workflow, user processing result, result.
pub(crate) type ResultPlace = (usize, usize, usize);

const LOG_CAPACITY: usize = 100_000;

pub struct Emulator {
    tenant: RwLock<Tenant>,
    results: HashMap<String, ResultPlace>,
    pub(crate) settings: Settings,
    pub(crate) faults: RwLock<Vec<Fault>>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) tokens: Mutex<HashMap<String, Instant>>,
    pub(crate) base_url: String,
    counters: Counters,
    log: Mutex<VecDeque<LoggedRequest>>,
}

#[derive(Default)]
struct Counters {
    token_requests: AtomicU64,
    graph_requests: AtomicU64,
    throttled: AtomicU64,
    resumes_applied: AtomicU64,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub token_requests: u64,
    pub graph_requests: u64,
    pub throttled: u64,
    pub resumes_applied: u64,
}

/// One Graph request as the emulator answered it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub client_request_id: Option<String>,
    pub request_id: String,
}

impl Emulator {
    pub fn new(tenant: Tenant, settings: Settings, base_url: String) -> Result<Self, String> {
        let settings = tenant.settings.clone().unwrap_or(settings);
        let faults = settings
            .faults
            .iter()
            .map(|spec| Fault::parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = HashMap::new();
        for (w, workflow) in tenant.workflows.iter().enumerate() {
            for (u, upr) in workflow.user_processing_results.iter().enumerate() {
                for (r, result) in upr.task_processing_results.iter().enumerate() {
                    if results.insert(result.id.clone(), (w, u, r)).is_some() {
                        return Err(format!(
                            "task processing result id '{}' appears twice",
                            result.id
                        ));
                    }
                }
            }
        }
        Ok(Self {
            rate_limit: settings.rate_limit.map(RateLimit::new),
            tenant: RwLock::new(tenant),
            results,
            settings,
            faults: RwLock::new(faults),
            tokens: Mutex::new(HashMap::new()),
            base_url,
            counters: Counters::default(),
            log: Mutex::new(VecDeque::new()),
        })
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Tenant> {
        self.tenant.read().expect("tenant lock")
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().expect("tenant lock")
    }

    pub(crate) fn place_of(&self, result_id: &str) -> Option<ResultPlace> {
        self.results.get(result_id).copied()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Adds a fault at run time (see [`crate::faults`] for the syntax).
    pub fn add_fault(&self, spec: &str) -> Result<(), String> {
        let fault = Fault::parse(spec)?;
        self.faults.write().expect("faults lock").push(fault);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.faults.write().expect("faults lock").clear();
    }

    /// Forgets every issued token, as if they had all expired: the next Graph call gets 401.
    pub fn revoke_tokens(&self) {
        self.tokens.lock().expect("tokens lock").clear();
    }

    /// A snapshot of the whole tenant (seed format, with recorded resumes).
    pub fn tenant(&self) -> Tenant {
        self.read().clone()
    }

    pub fn task_processing_result(&self, id: &str) -> Option<TaskProcessingResult> {
        let (w, u, r) = self.place_of(id)?;
        Some(self.read().workflows[w].user_processing_results[u].task_processing_results[r].clone())
    }

    pub fn assignment_request(&self, id: &str) -> Option<AssignmentRequest> {
        self.read()
            .assignment_requests
            .iter()
            .find(|r| r.id == id)
            .cloned()
    }

    /// Ids of every task processing result with this status: `(workflowId, taskId, resultId)`.
    pub fn task_results_with_status(&self, status: &str) -> Vec<(String, String, String)> {
        let tenant = self.read();
        let mut found = Vec::new();
        for workflow in &tenant.workflows {
            for upr in &workflow.user_processing_results {
                for result in upr
                    .task_processing_results
                    .iter()
                    .filter(|r| r.processing_status == status)
                {
                    found.push((
                        workflow.id.clone(),
                        result.task_id.clone(),
                        result.id.clone(),
                    ));
                }
            }
        }
        found
    }

    /// Every callout that waits for its callback: (request id, callout id, stage).
    pub fn waiting_callouts(&self) -> Vec<(String, String, String)> {
        let tenant = self.read();
        tenant
            .assignment_requests
            .iter()
            .flat_map(|request| {
                request
                    .custom_extension_callout_instances
                    .iter()
                    .filter(|c| c.status == "waitingForCallback")
                    .map(|c| (request.id.clone(), c.id.clone(), c.stage.clone()))
            })
            .collect()
    }

    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            token_requests: c.token_requests.load(Ordering::Relaxed),
            graph_requests: c.graph_requests.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            resumes_applied: c.resumes_applied.load(Ordering::Relaxed),
        }
    }

    /// The Graph requests answered so far (the most recent 100,000).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().expect("log lock").iter().cloned().collect()
    }

    pub(crate) fn count_token_request(&self) {
        self.counters.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_graph_request(&self) {
        self.counters.graph_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_throttled(&self) {
        self.counters.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_resume(&self) {
        self.counters
            .resumes_applied
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, entry: LoggedRequest) {
        let mut log = self.log.lock().expect("log lock");
        if log.len() == LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }
}
