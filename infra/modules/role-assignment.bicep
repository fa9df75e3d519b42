// One role assignment on a Service Bus namespace or one of its queues.

param namespaceName string

@description('Queue name, or empty for the whole namespace.')
param queueName string = ''

param principalId string

@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param principalType string = 'ServicePrincipal'

param roleDefinitionId string

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' existing = {
  name: namespaceName
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' existing = if (!empty(queueName)) {
  parent: namespace
  name: empty(queueName) ? 'unused' : queueName
}

resource onNamespace 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(queueName)) {
  name: guid(namespace.id, principalId, roleDefinitionId)
  scope: namespace
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

resource onQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(queueName)) {
  name: guid(namespace.id, queueName, principalId, roleDefinitionId)
  scope: queue
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}
