// What tells a team, without looking, that work is stuck or lost: alerts on dead letters,
// stale waiting work, work that slipped, failing resumes and a handler that is not running; a
// workbook; and the diagnostic settings that send the platform's logs to the workspace
// (README, *Monitoring*).
//
// The log alerts query the handler's own summary lines (traces in Application Insights):
// infra/monitoring/*.kql, whose every `name=` is one the handler writes (tests/api/monitoring.rs).

param location string

param tags object = {}

@description('Name prefix of the alert rules, the action group and the workbook.')
param name string

@description('Application Insights, whose traces hold the handler\'s log lines.')
param applicationInsightsId string

@description('The Service Bus namespace of the resume queues.')
param serviceBusNamespaceId string

@description('The queues to watch for dead letters.')
param queueNames array

@description('An existing action group to notify; empty to create one here.')
param actionGroupId string = ''

@description('With no actionGroupId: the e-mail address the new action group notifies (empty: the alerts fire in the portal only).')
param alertEmail string = ''

@description('The timer schedule\'s period in minutes: "not running" means no sweep in three periods.')
param sweepPeriodMinutes int = 15

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (empty(actionGroupId)) {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'resume'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var notify = empty(actionGroupId) ? actionGroup.id : actionGroupId

// A dead-lettered message is an Entra task or request that times out unless someone acts.
// The platform metric, not AzureMetrics rows: diagnostic settings do not export it.
resource deadLetters 'Microsoft.Insights/metricAlerts@2026-01-01' = {
  name: 'alert-${name}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'A resume message was dead-lettered: its task or access request will time out in Entra unless it is resumed. Inspect and re-send it from the queue\'s dead-letter queue (README, Outcomes).'
    severity: 1
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'deadLettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: queueNames
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: notify
      }
    ]
  }
}

// Log alerts on the handler's lines. Each fires when its query returns a row, except the
// sweep check, which fires when it returns none.
var logAlerts = [
  {
    key: 'stale-work'
    severity: 2
    query: loadTextContent('../monitoring/stale-work.kql')
    operator: 'GreaterThan'
    threshold: 0
    window: 'PT30M'
    frequency: 'PT15M'
    description: 'Work has waited longer than STALE_AFTER, or undated work belongs to a request older than its callback timeout: resume it before Entra times it out (resume-handler report --stale).'
  }
  {
    key: 'slipped-work'
    severity: 2
    query: loadTextContent('../monitoring/slipped-work.kql')
    operator: 'GreaterThan'
    threshold: 0
    window: 'PT30M'
    frequency: 'PT15M'
    description: 'Entra stopped waiting for work: a custom task failed (often at its callback timeout), or an access request\'s callout failed or timed out. See which, and why: resume-handler report --since 24h, then README, When a task timed out.'
  }
  {
    key: 'failed-resumes'
    severity: 2
    query: loadTextContent('../monitoring/failed-invocations.kql')
    operator: 'GreaterThan'
    threshold: 0
    window: 'PT15M'
    frequency: 'PT5M'
    description: 'At least a fifth of the resumes in 15 minutes failed: see the outcome= of the handler\'s lines.'
  }
  {
    key: 'startup-failures'
    severity: 1
    query: loadTextContent('../monitoring/startup-failures.kql')
    operator: 'GreaterThan'
    threshold: 0
    window: 'PT15M'
    frequency: 'PT5M'
    description: 'The handler refused its settings or could not start; the Functions host stops after three failures in 30 minutes.'
  }
  {
    key: 'not-running'
    severity: 1
    query: loadTextContent('../monitoring/sweeps.kql')
    operator: 'LessThan'
    threshold: 1
    window: 'PT${sweepPeriodMinutes * 3}M'
    frequency: 'PT15M'
    description: 'No ListInProgress sweep for three timer periods: the handler is not running, or its timer cannot fire.'
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [for alert in logAlerts: {
  name: 'alert-${name}-${alert.key}'
  location: location
  tags: tags
  properties: {
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: alert.frequency
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Count'
          operator: alert.operator
          threshold: alert.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        notify
      ]
    }
  }
}]

// The workbook's queries name the handler's fields; its resource ids are filled in here.
var workbookContent = replace(
  replace(loadTextContent('../monitoring/workbook.json'), '__APP_INSIGHTS__', applicationInsightsId),
  '__SERVICE_BUS__',
  serviceBusNamespaceId
)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, name, 'workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'resume-handler (${name})'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: workbookContent
  }
}

output actionGroupId string = notify
output workbookId string = workbook.id
