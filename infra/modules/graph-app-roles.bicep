// Microsoft Graph application permissions for the function's identity, declaratively,
// with the Microsoft Graph Bicep extension (see bicepconfig.json). The deployer needs
// Privileged Role Administrator, or an app with AppRoleAssignment.ReadWrite.All.
extension microsoftGraphV1

@description('Object (principal) id of the identity that calls Graph.')
param principalId string

@description('Also grant EntitlementManagement.ReadWrite.All (for ResumeAccessRequest).')
param entitlementManagement bool = true

// Microsoft Graph's own service principal, in every tenant.
resource graph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

// Resume, read-back and the in-progress report: ReadWrite includes Read.
resource lifecycleWorkflows 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  principalId: principalId
  resourceId: graph.id
  appRoleId: filter(graph.appRoles, role => role.value == 'LifecycleWorkflows.ReadWrite.All')[0].id
}

resource entitlements 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (entitlementManagement) {
  principalId: principalId
  resourceId: graph.id
  appRoleId: filter(graph.appRoles, role => role.value == 'EntitlementManagement.ReadWrite.All')[0].id
}
