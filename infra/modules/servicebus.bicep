// The Service Bus namespace and the two resume queues. Entra ID only: local (SAS) auth is off.

@description('Namespace name.')
param name string

param location string

param tags object = {}

@description('Deliveries before a message is dead-lettered; main.bicep derives it from the retry budget and the outage to ride out.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int

@description('Message lock; covers one invocation, including its Graph retry budget.')
param lockDuration string = 'PT5M'

@description('How long duplicate MessageIds are recognised and dropped.')
param duplicateDetectionWindow string = 'PT1H'

@description('Unprocessed messages expire (and are dead-lettered) after this.')
param messageTimeToLive string = 'P14D'

@description('Queue names; the function.json files bind to these.')
param queueNames array

@description('Log Analytics workspace for the namespace\'s logs and metrics (diagnostic settings).')
param workspaceId string

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = [for queueName in queueNames: {
  parent: namespace
  name: queueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    defaultMessageTimeToLive: messageTimeToLive
    requiresSession: false
  }
}]

// Every log category and the metrics to the workspace. Dead-lettered counts are not among
// the exported metrics: the dead-letter alert reads the platform metric itself.
// 2021-05-01-preview: the newest GA version, 2016-09-01, has no categoryGroup and no category
// on metrics, and wants a location.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
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

output namespaceName string = namespace.name
output namespaceId string = namespace.id
// The namespace's endpoint in this cloud (https://<name>.servicebus.<cloud's suffix>:443/), from
// which its host, the queues' REST endpoints and the Entra audience are derived: nothing here
// is written for one cloud.
var endpointHost = split(split(namespace.properties.serviceBusEndpoint, '://')[1], ':')[0]
var cloudSuffix = substring(endpointHost, length(namespace.name) + 1)

@description('The namespace\'s host name: ServiceBusConnection__fullyQualifiedNamespace.')
output fullyQualifiedNamespace string = endpointHost
@description('https://<host>, the base of each queue\'s REST endpoint (<endpoint>/<queue>/messages).')
output endpoint string = 'https://${endpointHost}'
// Service Bus's Entra audience in each cloud: https://servicebus.<suffix>, where the national
// clouds' suffix is their Service Bus host suffix (servicebus.usgovcloudapi.net,
// servicebus.chinacloudapi.cn), and the global cloud's is that of its Azure-wide names
// (servicebus.azure.net, as the vault suffix .vault.azure.net has it).
var globalAudience = 'https://servicebus${substring(environment().suffixes.keyvaultDns, length('.vault'))}'

@description('The audience of a Microsoft Entra token for Service Bus in this cloud.')
output audience string = environment().name == 'AzureCloud' ? globalAudience : 'https://${cloudSuffix}'
output queueNames array = queueNames
