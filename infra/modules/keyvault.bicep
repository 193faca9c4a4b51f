// Key Vault for the secrets the app may come to need (third-party API keys, a signing
// key). Nothing the app uses today is a secret: every Azure connection is identity-based.
//
// RBAC authorization (no access policies), soft delete and purge protection. Purge
// protection means `azd down --purge` cannot purge the vault: it stays soft-deleted, its
// name reserved, for softDeleteRetentionInDays. The next `azd up` of the same environment
// therefore recovers it (createMode 'recover'), which infra/hooks/preprovision.sh selects
// when it finds this environment's vault soft-deleted.

param location string
param tags object
param name string

@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('recover: bring back this soft-deleted vault (set by infra/hooks/preprovision.sh); default: create or update.')
@allowed([
  'default'
  'recover'
])
param createMode string = 'default'

@description('Disabled by default: nothing reads the vault from outside Azure. Enabled (with allowedIpAddresses) lets the deploying user manage secrets from a laptop.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Disabled'

@description('Public IPs / CIDR ranges allowed through the vault firewall when publicNetworkAccess is Enabled.')
param allowedIpAddresses array = []

@description('Log Analytics workspace for audit logs; empty for none.')
param logAnalyticsWorkspaceId string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    createMode: createMode
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: [for ip in allowedIpAddresses: {
        value: ip
      }]
      virtualNetworkRules: []
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output endpoint string = vault.properties.vaultUri
