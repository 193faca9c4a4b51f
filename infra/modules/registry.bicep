// Azure Container Registry for the worker image (azd builds and pushes it).
//
// Admin user off: azd pushes with the deploying user's Entra token, the container app
// pulls with the worker identity (AcrPull, rbac.bicep).

param location string
param tags object
param name string

@description('Standard by default: CUDA images are several GB and Basic holds only 10 GiB.')
@allowed([
  'Basic'
  'Standard'
])
param skuName string = 'Standard'

@description('Log Analytics workspace for diagnostics; empty for none.')
param logAnalyticsWorkspaceId string = ''

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  // checkov:skip=CKV_AZURE_139: public endpoint needed by `azd deploy` (push / remote build) and by Container Apps without VNet; anonymous pull and the admin user are off, so every call needs an Entra token
  // checkov:skip=CKV_AZURE_163: image vulnerability scanning is Microsoft Defender for Containers, a subscription-level plan, not a registry property
  // checkov:skip=CKV_AZURE_166: quarantine / trust policies are Premium-only; Basic/Standard are offered by parameter
  // checkov:skip=CKV_AZURE_233: zone redundancy is Premium-only; a lost image is rebuilt by `azd deploy`
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    dataEndpointEnabled: false
    zoneRedundancy: 'Disabled'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'login-events'
  scope: registry
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'ContainerRegistryLoginEvents'
        enabled: true
      }
    ]
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
