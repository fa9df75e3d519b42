// One callout starter: a Consumption Logic App that Entra's custom extension calls, and that
// hands the resume command to one of resume-handler's queues (docs/starters.md).
//
// Entra calls it with a proof-of-possession token. The trigger's AADPOP policy admits only a
// token whose claims say it is Entra's first-party caller for this tenant, POSTing to this
// Logic App through Azure Resource Manager. The trigger's signed URL (SAS) is disabled, as in
// Microsoft's own custom extension template: Entra authenticates with its token, never with
// the signature, and a signed URL would let a call without a token past the policy. The
// definition's trigger condition (an Authorization header that is PoP) stays as a second
// guard (docs/starters.md).

@description('Logic App name.')
param name string

param location string

param tags object = {}

@description('Workflow definition (infra/starters/*.json).')
param definition object

@description('The appid claim of the Entra service that calls: Lifecycle Workflows or Entitlement Management.')
param callerAppId string

@description('The Service Bus namespace holding the queue.')
param serviceBusNamespaceName string

@description('The namespace\'s endpoint in this cloud, https://<host> (the servicebus module\'s output).')
param serviceBusEndpoint string

@description('The audience of a token for Service Bus in this cloud (the servicebus module\'s output).')
param serviceBusAudience string

@description('The queue the starter sends to; its identity gets Azure Service Bus Data Sender on it alone.')
param queueName string

@description('Log Analytics workspace for the run history (diagnostic settings).')
param workspaceId string

@description('Azure Service Bus Data Sender.')
param senderRoleId string = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'

// The PoP token's `u` claim is the Resource Manager host, without scheme or path.
var resourceManagerHost = split(replace(environment().resourceManager, 'https://', ''), '/')[0]

// What Entra's token must say: who issued it, which Entra service asks, and that it was
// made for a POST to this Logic App through Resource Manager. The issuer is that of Entra's
// v1.0 tokens, `sts.windows.net`, which the global and US Government clouds share (the
// Lifecycle Workflows and Entitlement Management callouts exist in those two).
var claims = [
  {
    name: 'iss'
    value: 'https://sts.windows.net/${tenant().tenantId}/'
  }
  {
    name: 'appid'
    value: callerAppId
  }
  {
    name: 'm'
    value: 'POST'
  }
  {
    name: 'u'
    value: resourceManagerHost
  }
  {
    name: 'p'
    value: resourceId('Microsoft.Logic/workflows', name)
  }
]

resource workflow 'Microsoft.Logic/workflows@2019-05-01' = {
  name: name
  location: location
  tags: union(tags, {
    purpose: 'resume-handler callout starter'
  })
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    state: 'Enabled'
    definition: definition
    parameters: {
      resumeQueueUrl: {
        value: '${serviceBusEndpoint}/${queueName}/messages'
      }
      serviceBusAudience: {
        value: serviceBusAudience
      }
    }
    accessControl: {
      // sasAuthenticationPolicy is newer than the 2019-05-01 type (the newest GA one), so
      // the triggers' policy goes through any(…) rather than drawing a warning.
      triggers: any({
        sasAuthenticationPolicy: {
          state: 'Disabled'
        }
        openAuthenticationPolicies: {
          policies: {
            EntraCaller: {
              type: 'AADPOP'
              claims: claims
            }
          }
        }
      })
    }
  }
}

// 2021-05-01-preview: the newest GA version, 2016-09-01, has no category on metrics and wants
// a location.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: workflow
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'WorkflowRuntime'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

module sender 'role-assignment.bicep' = {
  name: 'sender-${name}'
  params: {
    namespaceName: serviceBusNamespaceName
    queueName: queueName
    principalId: workflow.identity.principalId
    roleDefinitionId: senderRoleId
  }
}

output name string = workflow.name
output principalId string = workflow.identity.principalId
