// The function app (azd service "api") on the Flex Consumption plan (FC1), Python 3.11.
//
// Every connection is identity-based, through the user-assigned "api" identity:
//   AzureWebJobsStorage__*     Functions host storage, the Durable Functions task hub
//                              (same account: queues + tables) and the EventGrid-source
//                              blob trigger (connection "AzureWebJobsStorage")
//   ServiceBusConnection__*    the Service Bus triggers (connection "ServiceBusConnection")
//   AZURE_CLIENT_ID            DefaultAzureCredential in the app's own adapters
//   APPLICATIONINSIGHTS_AUTHENTICATION_STRING  telemetry with an Entra token
// No key, SAS or connection string with a secret is stored in the app settings.
//
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION:
// the runtime is declared in functionAppConfig.runtime instead.

param location string
param tags object
param name string
param planName string

@description('Resource id of the user-assigned identity of the app.')
param identityId string
@description('Client id of that identity (the __clientId of identity-based connections).')
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string
param serviceBusFullyQualifiedNamespace string
param applicationInsightsConnectionString string

@description('Memory of each instance in MB. 2048 leaves room for ffmpeg and ONNX Runtime next to the host.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to. Flex Consumption rejects values below 40.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances for the HTTP group (0: scale to zero, first request pays the cold start).')
@minValue(0)
param alwaysReadyHttpInstances int = 0

@description('Always-ready instances for the Durable Functions group ("durable": orchestrator and entity triggers). Flex Consumption scales Durable apps from the task hub\'s queues only with a delay; one warm instance keeps orchestrations moving.')
@minValue(0)
param alwaysReadyDurableInstances int = 1

@description('Spread the plan across availability zones (region must support zone-redundant Flex Consumption).')
param zoneRedundant bool = false

@description('Subnet (delegated to Microsoft.App/environments) for VNet integration; empty for none. Needed once Redis or other dependencies go private.')
param virtualNetworkSubnetId string = ''

@description('Browser origins allowed to call the API (the Static Web App).')
param corsAllowedOrigins array = []

@description('The app\'s own settings (README settings table and adapter settings), merged over the connection settings.')
param appSettings object = {}

var connectionSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

var allSettings = union(connectionSettings, appSettings)

var alwaysReadyHttp = alwaysReadyHttpInstances > 0 ? [
  {
    name: 'http'
    instanceCount: alwaysReadyHttpInstances
  }
] : []
var alwaysReadyDurable = alwaysReadyDurableInstances > 0 ? [
  {
    name: 'durable'
    instanceCount: alwaysReadyDurableInstances
  }
] : []
var alwaysReady = concat(alwaysReadyHttp, alwaysReadyDurable)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is a parameter (zoneRedundant); Flex Consumption supports it only in some regions, so it is off by default
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: client certificates would make every browser call of the public API negotiate a certificate; callers are browsers (the Static Web App) and Event Grid
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; always-ready instances are parameters (alwaysReadyHttpInstances, alwaysReadyDurableInstances: 1 by default)
  // checkov:skip=CKV_AZURE_213: the platform health check feature is not available on the Flex Consumption plan; GET /api/health reports dependency state instead
  // checkov:skip=CKV_AZURE_222: the API is public by design: browsers call it from the Static Web App; the HTTP routes are AuthLevel.ANONYMOUS on purpose (function_app.py) and validate bearer tokens themselves; Event Grid delivers to the upload function as an Azure Function destination (no public webhook)
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
      appSettings: [
        for setting in items(allSettings): {
          name: setting.key
          value: string(setting.value)
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No basic-auth (publishing profile) deployments: azd deploys with an Entra token.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output uri string = 'https://${functionApp.properties.defaultHostName}'
output appSettingNames array = [for setting in items(allSettings): setting.key]
