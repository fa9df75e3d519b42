// resume-handler on Azure Functions Flex Consumption: the function app (custom handler,
// managed identity, no secrets), its storage, Application Insights, the Service Bus queues,
// the role assignments between them, and optionally the Graph permissions and Entra
// authentication for the HTTP functions. Deploy: see the README's "Deploy" section.
targetScope = 'resourceGroup'

@description('A short name for this deployment; names and the azd environment derive from it.')
@minLength(2)
@maxLength(20)
param environmentName string

param location string = resourceGroup().location

@description('Use a user-assigned managed identity (created here) instead of the system-assigned one, for storage, Service Bus and Graph.')
param useUserAssignedIdentity bool = false

@description('Grant the identity Microsoft Graph permissions here (needs Privileged Role Administrator). Turn off when a Graph admin grants them separately, or when the identity is put in the custom extensions\' authorizedApps instead.')
param grantGraphPermissions bool = true

@description('With grantGraphPermissions: also EntitlementManagement.ReadWrite.All, for ResumeAccessRequest.')
param grantEntitlementManagement bool = true

@description('Principal (object) ids that may send to the queues, e.g. a Logic App\'s managed identity.')
param senderPrincipalIds array = []

@description('Require an Entra token from the listed client applications on the HTTP functions (App Service authentication).')
param requireEntraAuth bool = false

@description('With requireEntraAuth: the application (client) id of the app registration that represents this API (the token audience).')
param entraAuthAudienceClientId string = ''

@description('With requireEntraAuth: the client application ids allowed to call.')
param entraAuthAllowedClientIds array = []

@allowed([
  'global'
  'usgov'
  'usgovdod'
  'china'
])
param graphCloud string = 'global'

@allowed([
  'v1.0'
  'beta'
])
param graphApiVersion string = 'v1.0'

@description('Timer schedule of ListInProgress (NCRONTAB, six fields).')
param listInProgressSchedule string = '0 */15 * * * *'

@description('Deploy the Lifecycle Workflows callout starter: a Logic App that a custom task extension calls, and that sends the resume to the resume-task queue.')
param deployLifecycleWorkflowsStarter bool = true

@description('Deploy the Entitlement Management callout starter: a Logic App that an access package custom extension calls, and that sends the resume to the resume-access-request queue.')
param deployEntitlementManagementStarter bool = true

@description('Deploy the alerts (dead letters, stale work, failing resumes, a handler that is not running) and the workbook.')
param deployAlerts bool = true

@description('With deployAlerts: an existing action group to notify; empty to create one.')
param alertActionGroupId string = ''

@description('With deployAlerts and no alertActionGroupId: the e-mail address the new action group notifies.')
param alertEmail string = ''

@description('Comma-separated workflow ids allowed for task resumes; empty for all.')
param allowedWorkflowIds string = ''

@description('Comma-separated workflow ids the in-progress report covers; empty for all.')
param listInProgressWorkflowIds string = ''

@description('The kinds of waiting work the in-progress report covers (LIST_IN_PROGRESS_KINDS): task, accessRequest, or both comma-separated. Empty: both when grantEntitlementManagement is on, else task only (the report would otherwise meet a 403 on every sweep).')
param listInProgressKinds string = ''

@description('Seconds one queue delivery may spend retrying Graph (GRAPH_RETRY_BUDGET). A delivery that meets an outage holds its message this long before it fails, so it must fit in the 5-minute message lock: at most 240.')
@minValue(10)
@maxValue(240)
param graphRetryBudgetSeconds int = 240

@description('Minutes of Graph outage the queues ride out before a message is dead-lettered. The default outlasts the longest Lifecycle Workflows callback timeout (3 hours).')
@minValue(5)
@maxValue(1440)
param outageRideOutMinutes int = 200

param staleAfter string = '1h'
param resumeSource string = 'resume-handler'

@minValue(1)
@maxValue(64)
param graphMaxConcurrency int = 8

// Each failed delivery spends its whole retry budget before the message comes back, so
// deliveries × budget is the outage ridden out: 50 × 240 s = 200 minutes by default.
var maxDeliveryCount = (outageRideOutMinutes * 60 + graphRetryBudgetSeconds - 1) / graphRetryBudgetSeconds

@description('Where the handler runs. FlexConsumption (FC1, the default): scales to zero, billed per execution. ElasticPremium (EP1): for a region where Flex does not offer the custom runtime; always one warm instance, billed per hour. README, Hosting.')
@allowed([
  'FlexConsumption'
  'ElasticPremium'
])
param hostingPlan string = 'FlexConsumption'

@description('Spread the plan\'s instances (and the storage account) over availability zones, where the region has them.')
param zoneRedundant bool = false

@description('Put the app\'s outbound traffic in a virtual network created here (10.40.0.0/24), unless subnetId names an existing subnet.')
param virtualNetwork bool = false

@description('With virtualNetwork: an existing subnet to integrate with, delegated to Microsoft.App/environments (Flex) or Microsoft.Web/serverFarms (Elastic Premium).')
param subnetId string = ''

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 512

var suffix = uniqueString(subscription().id, resourceGroup().id, environmentName)
var tags = {
  'azd-env-name': environmentName
  app: 'resume-handler'
}
var appName = 'func-${environmentName}-${suffix}'
// The queues the ResumeTaskQueue and ResumeAccessRequestQueue function.json files bind to.
var queueNames = [
  'resume-task'
  'resume-access-request'
]
// One deployment container per app, so two apps sharing the account never overwrite each
// other's package.
var deploymentContainer = take('app-package-${toLower(appName)}', 63)
var isFlex = hostingPlan == 'FlexConsumption'
var roles = {
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---- Identity -------------------------------------------------------------------------

resource userIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = if (useUserAssignedIdentity) {
  name: 'id-${environmentName}-${suffix}'
  location: location
  tags: tags
}

// ---- Storage: the host's state and the deployment package, identity only -----------------

resource storage 'Microsoft.Storage/storageAccounts@2026-04-01' = {
  name: take('st${toLower(replace(environmentName, '-', ''))}${suffix}', 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-04-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-04-01' = {
  parent: blobService
  name: deploymentContainer
}

// ---- Monitoring: Entra-authenticated ingestion only --------------------------------------

resource logs 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: 'log-${environmentName}-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${environmentName}-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

// ---- Service Bus ----------------------------------------------------------------------

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    name: 'sb-${environmentName}-${suffix}'
    location: location
    tags: tags
    maxDeliveryCount: maxDeliveryCount
    queueNames: queueNames
    workspaceId: logs.id
  }
}

// ---- Callout starters: Entra → Logic App → queue (docs/starters.md) -----------------------

// Entra's first-party callers, as their PoP tokens name them (docs/starters.md).
var lifecycleWorkflowsAppId = 'ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7'
var entitlementManagementAppId = '810dcf14-1858-4bf2-8134-4c369fa3235b'

module lifecycleWorkflowsStarter 'modules/starter.bicep' = if (deployLifecycleWorkflowsStarter) {
  name: 'starter-lifecycle-workflows'
  params: {
    name: 'logic-${environmentName}-lcw-${suffix}'
    location: location
    tags: tags
    definition: loadJsonContent('starters/lifecycle-workflows.json')
    callerAppId: lifecycleWorkflowsAppId
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    serviceBusEndpoint: serviceBus.outputs.endpoint
    serviceBusAudience: serviceBus.outputs.audience
    queueName: queueNames[0]
    workspaceId: logs.id
  }
}

module entitlementManagementStarter 'modules/starter.bicep' = if (deployEntitlementManagementStarter) {
  name: 'starter-entitlement-management'
  params: {
    name: 'logic-${environmentName}-em-${suffix}'
    location: location
    tags: tags
    definition: loadJsonContent('starters/entitlement-management.json')
    callerAppId: entitlementManagementAppId
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    serviceBusEndpoint: serviceBus.outputs.endpoint
    serviceBusAudience: serviceBus.outputs.audience
    queueName: queueNames[1]
    workspaceId: logs.id
  }
}

// ---- The function app -------------------------------------------------------------------

// ---- Optional virtual network: the app's outbound traffic goes through its subnet --------

var createVirtualNetwork = virtualNetwork && empty(subnetId)

resource vnet 'Microsoft.Network/virtualNetworks@2025-09-01' = if (createVirtualNetwork) {
  name: 'vnet-${environmentName}-${suffix}'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.40.0.0/24'
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: '10.40.0.0/26'
          delegations: [
            {
              name: 'app'
              properties: {
                serviceName: isFlex ? 'Microsoft.App/environments' : 'Microsoft.Web/serverFarms'
              }
            }
          ]
        }
      }
    ]
  }
}

var appSubnetId = !virtualNetwork ? '' : (createVirtualNetwork ? vnet!.properties.subnets[0].id : subnetId)

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${environmentName}-${suffix}'
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex ? {
    name: 'FC1'
    tier: 'FlexConsumption'
  } : {
    name: 'EP1'
    tier: 'ElasticPremium'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
    maximumElasticWorkerCount: isFlex ? null : min(maximumInstanceCount, 100)
  }
}

var identityType = useUserAssignedIdentity ? 'SystemAssigned, UserAssigned' : 'SystemAssigned'
var clientId = useUserAssignedIdentity ? userIdentity!.properties.clientId : ''

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: useUserAssignedIdentity ? {
    type: identityType
    userAssignedIdentities: {
      '${userIdentity!.id}': {}
    }
  } : {
    type: identityType
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    // All outbound application traffic through the subnet (formerly vnetRouteAllEnabled).
    outboundVnetRouting: {
      applicationTraffic: !empty(appSubnetId)
    }
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: isFlex ? {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: useUserAssignedIdentity ? {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: userIdentity!.id
          } : {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    } : null
  }
}

var principalId = useUserAssignedIdentity ? userIdentity!.properties.principalId : app.identity.principalId
// What names the identity in a role assignment's name, which Bicep needs before anything is
// deployed: the identity's resource id (the principal id exists only once it is created).
var principalKey = useUserAssignedIdentity ? userIdentity!.id : app.id

// Identity-based connections; on Flex, FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not set.
var identitySettings = useUserAssignedIdentity ? {
  AzureWebJobsStorage__clientId: clientId
  ServiceBusConnection__clientId: clientId
  AZURE_CLIENT_ID: clientId
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${clientId};Authorization=AAD'
} : {
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
}
// Elastic Premium runs the same zip from the deployment container, read with the app's
// identity (WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID), so it needs no Azure Files share
// and no storage key. Flex sets neither the runtime nor the extension version in settings.
var premiumSettings = isFlex ? {} : {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'custom'
  WEBSITE_RUN_FROM_PACKAGE: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}/resume-handler.zip'
  WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: useUserAssignedIdentity ? userIdentity!.id : 'SystemAssigned'
}
var optionalSettings = union(
  empty(allowedWorkflowIds) ? {} : {
    ALLOWED_WORKFLOW_IDS: allowedWorkflowIds
  },
  empty(listInProgressWorkflowIds) ? {} : {
    LIST_IN_PROGRESS_WORKFLOW_IDS: listInProgressWorkflowIds
  }
)

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: app
  name: 'appsettings'
  properties: union({
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    ServiceBusConnection__credential: 'managedidentity'
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    GRAPH_AUTH: 'managed-identity'
    GRAPH_CLOUD: graphCloud
    GRAPH_API_VERSION: graphApiVersion
    GRAPH_RETRY_BUDGET: '${graphRetryBudgetSeconds}s'
    GRAPH_MAX_CONCURRENCY: string(graphMaxConcurrency)
    RESUME_SOURCE: resumeSource
    STALE_AFTER: staleAfter
    LIST_IN_PROGRESS_SCHEDULE: listInProgressSchedule
    LIST_IN_PROGRESS_KINDS: !empty(listInProgressKinds)
      ? listInProgressKinds
      : (grantEntitlementManagement ? 'task,accessRequest' : 'task')
  }, identitySettings, optionalSettings, premiumSettings)
}

// Publishing with basic credentials (FTP, SCM) is off: deploy with an Entra identity.
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

// App Service authentication: callers of the HTTP functions present an Entra token for
// this API's app registration, from one of the allowed client applications.
resource auth 'Microsoft.Web/sites/config@2025-03-01' = if (requireEntraAuth) {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: entraAuthAudienceClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${entraAuthAudienceClientId}'
            entraAuthAudienceClientId
          ]
          defaultAuthorizationPolicy: {
            allowedApplications: entraAuthAllowedClientIds
          }
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// ---- Monitoring: alerts, the workbook, diagnostic settings (README, *Monitoring*) --------

// 2021-05-01-preview: the newest GA version, 2016-09-01, has no category on metrics and no
// categoryGroup, and wants a location.
resource appDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: app
  properties: {
    workspaceId: logs.id
    logs: [
      {
        category: 'FunctionAppLogs'
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

module monitoring 'modules/monitoring.bicep' = if (deployAlerts) {
  name: 'monitoring'
  params: {
    name: '${environmentName}-${suffix}'
    location: location
    tags: tags
    applicationInsightsId: insights.id
    serviceBusNamespaceId: serviceBus.outputs.namespaceId
    queueNames: queueNames
    actionGroupId: alertActionGroupId
    alertEmail: alertEmail
  }
}

// ---- Role assignments for the function's identity ----------------------------------------

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]: {
  name: guid(storage.id, principalKey, role)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, principalKey, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// Data Receiver for the queue triggers; Data Owner because the scale controller reads the
// queue length with the app's identity (with Receiver alone it can only estimate).
module serviceBusRoles 'modules/role-assignment.bicep' = [for role in [
  roles.serviceBusDataReceiver
  roles.serviceBusDataOwner
]: {
  name: 'sb-role-${uniqueString(role)}'
  params: {
    namespaceName: serviceBus.outputs.namespaceName
    principalId: principalId
    roleDefinitionId: role
  }
}]

// Upstream senders (a Logic App, an HR system): Data Sender on each queue.
module senderRoles 'modules/role-assignment.bicep' = [for (pair, i) in flatten(map(senderPrincipalIds, id => map(queueNames, queue => {
  principalId: id
  queue: queue
}))): {
  name: 'sb-sender-${i}'
  params: {
    namespaceName: serviceBus.outputs.namespaceName
    queueName: pair.queue
    principalId: pair.principalId
    roleDefinitionId: roles.serviceBusDataSender
  }
}]

// ---- Microsoft Graph permissions (optional) ------------------------------------------------

module graphPermissions 'modules/graph-app-roles.bicep' = if (grantGraphPermissions) {
  name: 'graph-app-roles'
  params: {
    principalId: principalId
    entitlementManagement: grantEntitlementManagement
  }
}

// ---- Outputs: names and ids, never a secret ------------------------------------------------

output functionAppName string = app.name
output hostingPlan string = hostingPlan
output deploymentContainer string = deploymentContainer
output functionAppHostName string = app.properties.defaultHostName
output principalId string = principalId
@description('What to type when creating the custom extension in Entra: the starters\' subscription, resource group and Logic App names.')
output starterSubscriptionId string = subscription().subscriptionId
output starterResourceGroup string = resourceGroup().name
output lifecycleWorkflowsStarterName string = deployLifecycleWorkflowsStarter ? lifecycleWorkflowsStarter!.outputs.name : ''
output entitlementManagementStarterName string = deployEntitlementManagementStarter ? entitlementManagementStarter!.outputs.name : ''
@description('The identity\'s client id, for `resume-handler extension grant --app`. Empty for the system-assigned identity, whose client id ARM does not expose: `az ad sp show --id <principalId> --query appId -o tsv`.')
output principalClientId string = clientId
output serviceBusNamespace string = serviceBus.outputs.namespaceName
output serviceBusFullyQualifiedNamespace string = serviceBus.outputs.fullyQualifiedNamespace
@description('The audience of a Microsoft Entra token for Service Bus in this cloud (az rest --resource, infra/smoke.sh).')
output serviceBusAudience string = serviceBus.outputs.audience
output queueNames array = serviceBus.outputs.queueNames
output storageAccountName string = storage.name
output applicationInsightsName string = insights.name
output AZURE_FUNCTION_APP_NAME string = app.name
