// Azure RBAC role assignments, least privilege per identity and scoped as narrowly as the
// resource allows. (Cosmos DB data-plane roles and Redis access policies are not Azure
// RBAC: they live in cosmos.bicep and redis.bicep.)
//
//   api (function app)
//     storage account  Storage Blob Data Owner        Functions host with identity-based
//                                                      AzureWebJobsStorage; videos/chunks;
//                                                      user-delegation SAS for uploads
//                      Storage Queue Data Contributor  Durable task hub, blob trigger poison queue
//                      Storage Table Data Contributor  Durable task hub history/instances
//     jobs queue       Service Bus Data Sender         dispatch_chunks
//                      Service Bus Data Receiver       the dead-letter trigger
//     results queue    Service Bus Data Receiver       the result trigger
//     key vault        Key Vault Secrets User          Key Vault references
//     app insights     Monitoring Metrics Publisher    Entra-authenticated telemetry
//   worker (container app)
//     chunks container Storage Blob Data Contributor   read chunks, write transcripts
//     jobs queue       Service Bus Data Receiver       receive/complete/dead-letter jobs
//     results queue    Service Bus Data Sender         send results
//     registry         AcrPull                         pull the image
//     app insights     Monitoring Metrics Publisher
//     (trigger queues  Service Bus Data Owner         the scale controller's queue-length reads;
//                                                      grantApiServiceBusOwnerForScaling, on by default)
//   importer (optional: registryImportPrincipalId, another environment's deployment identity)
//     registry         Reader + AcrPull                az acr import from this registry
//   scaler (KEDA rule of the worker)
//     jobs queue       Service Bus Data Owner          KEDA reads the message count through
//                                                      the management API (Manage right)
//   deploying user (AZURE_PRINCIPAL_ID, optional): data roles for debugging.

param storageAccountName string
param chunksContainerName string
param serviceBusName string
param jobsQueueName string
param resultsQueueName string
param registryName string
param keyVaultName string
param applicationInsightsName string

param apiPrincipalId string
param workerPrincipalId string
param scalerPrincipalId string

@description('Also give the api identity Service Bus Data Owner on its two trigger queues (default). The Flex Consumption scale controller reads queue length through the management API (Manage right); with Listen (Receiver) only it scales inaccurately and can fail to wake the app from zero.')
param grantApiServiceBusOwnerForScaling bool = true

@description('Object id of a principal that imports images from this registry into another one (the production deployment identity, on staging): Reader and AcrPull on the registry. Empty for none.')
param registryImportPrincipalId string = ''

@description('Object id of the deploying user or CI principal; empty for none.')
param userPrincipalId string = ''
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param userPrincipalType string = 'User'

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec'
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var hasUser = !empty(userPrincipalId)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource chunks 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: chunksContainerName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

resource jobsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: serviceBus
  name: jobsQueueName
}

resource resultsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: serviceBus
  name: resultsQueueName
}

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// --- api (function app) ---------------------------------------------------------------

resource apiBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, apiPrincipalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, apiPrincipalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, apiPrincipalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiJobsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(jobsQueue.id, apiPrincipalId, roles.serviceBusDataSender)
  scope: jobsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiJobsReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(jobsQueue.id, apiPrincipalId, roles.serviceBusDataReceiver)
  scope: jobsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiResultsReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resultsQueue.id, apiPrincipalId, roles.serviceBusDataReceiver)
  scope: resultsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiJobsOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantApiServiceBusOwnerForScaling) {
  name: guid(jobsQueue.id, apiPrincipalId, roles.serviceBusDataOwner)
  scope: jobsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiResultsOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantApiServiceBusOwnerForScaling) {
  name: guid(resultsQueue.id, apiPrincipalId, roles.serviceBusDataOwner)
  scope: resultsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, apiPrincipalId, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, apiPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- worker (container app) -----------------------------------------------------------

resource workerChunksContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(chunks.id, workerPrincipalId, roles.storageBlobDataContributor)
  scope: chunks
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerJobsReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(jobsQueue.id, workerPrincipalId, roles.serviceBusDataReceiver)
  scope: jobsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerResultsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resultsQueue.id, workerPrincipalId, roles.serviceBusDataSender)
  scope: resultsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, workerPrincipalId, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, workerPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- scaler (KEDA) --------------------------------------------------------------------

resource scalerJobsOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(jobsQueue.id, scalerPrincipalId, roles.serviceBusDataOwner)
  scope: jobsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: scalerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- image promotion (optional) --------------------------------------------------------
// `az acr import --registry <this registry's id>` run by another environment's deployment identity reads
// the source registry through ARM (Reader) and pulls its manifests and layers (AcrPull).

resource importerReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryImportPrincipalId)) {
  name: guid(registry.id, registryImportPrincipalId, roles.reader)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
    principalId: registryImportPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource importerAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryImportPrincipalId)) {
  name: guid(registry.id, registryImportPrincipalId, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: registryImportPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- deploying user (optional) --------------------------------------------------------

resource userBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(storage.id, userPrincipalId, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(storage.id, userPrincipalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(storage.id, userPrincipalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userServiceBusOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(serviceBus.id, userPrincipalId, roles.serviceBusDataOwner)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userAcrPush 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(registry.id, userPrincipalId, roles.acrPush)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPush)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasUser) {
  name: guid(keyVault.id, userPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}
