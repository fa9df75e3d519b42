// The Service Bus namespace and the two resume queues. Entra ID only: local (SAS) auth is off.

@description('Namespace name.')
param name string

param location string

param tags object = {}

@description('Deliveries before a message is dead-lettered; main.bicep derives it from the retry budget and the outage to ride out.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int = 10

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

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
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

resource queues 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = [for queueName in queueNames: {
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
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueNames array = queueNames
