// Classroom-video analytics on Azure, for `azd up`.
//
//   api     Function app, Flex Consumption, Python 3.11 (HTTP API, EventGrid blob trigger,
//           Durable orchestration, Service Bus triggers)         modules/function-app.bicep
//   worker  GPU transcription worker on Container Apps (KEDA on "transcription-jobs")
//                                                                modules/container-apps.bicep
//   data    Storage (videos, chunks, task hub), Service Bus, Cosmos DB, Redis
//   ops     Log Analytics + Application Insights, Key Vault, ACR, Static Web App
//
// Identity: three user-assigned identities (api, worker, scaler) and no keys anywhere:
// storage shared keys, Service Bus SAS, Cosmos keys, Redis access keys, ACR admin user and
// App Insights instrumentation-key ingestion are all disabled.
//
// First `azd up`: provision -> deploy api -> postdeploy hook (azure.yaml) creates the
// Event Grid subscription of the blob trigger (its webhook key exists only once the code
// runs) and sets BLOB_EVENT_SUBSCRIPTION_ENABLED=true, so later provisions declare it
// here (modules/blob-events.bicep).

targetScope = 'subscription'

// --- azd ------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Primary region for all resources (must offer the Flex Consumption plan).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Second region: Cosmos DB failover region (provisioned mode) and, when set, geo-redundant storage (GRS replicates to the primary region\'s Azure pair). Empty for a single-region deployment.')
param secondaryLocation string = ''

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID); gets data roles for debugging. Empty for none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Resource group name; empty for rg-{environmentName}.')
param resourceGroupName string = ''

// --- storage --------------------------------------------------------------------------

@description('Days after upload before a video moves to the cool tier.')
param videoCoolAfterDays int = 30
@description('Days after upload before a video moves to the archive tier.')
param videoArchiveAfterDays int = 90
@description('Days after upload before a video is deleted (retention of recordings).')
param videoRetentionDays int = 365
@description('Days before audio chunks and chunk transcripts are deleted.')
@minValue(1)
@maxValue(7)
param chunkRetentionDays int = 2
@description('Blob soft-delete days (0: off).')
param blobSoftDeleteDays int = 7

@description('Declare the blob trigger\'s Event Grid subscription (set to true by the api postdeploy hook once the code is deployed).')
param blobEventSubscriptionEnabled bool = false

// --- function app ---------------------------------------------------------------------

@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048
@description('Most instances the app scales out to. Flex Consumption rejects values below 40.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100
@description('Always-ready instances of the HTTP group (0: the first request after idle pays a cold start).')
@minValue(0)
param functionAlwaysReadyInstances int = 0
@description('Always-ready instances of the Durable Functions group: Flex Consumption needs at least 1 for orchestrations to progress promptly (Durable docs, "Flex Consumption"). 0 only for a throwaway environment.')
@minValue(0)
param functionDurableAlwaysReadyInstances int = 1
@description('Subnet delegated to Microsoft.App/environments for VNet integration of the function app; empty for none.')
param functionSubnetId string = ''
@description('Browser origins allowed besides the Static Web App (e.g. http://localhost:5173 for front-end work).')
param additionalCorsOrigins array = []

// --- messaging ------------------------------------------------------------------------

@allowed([
  'Standard'
  'Premium'
])
param serviceBusSku string = 'Standard'
@description('JOB_LOCK_SECONDS and the jobs queue lock duration (Service Bus maximum: 300).')
@minValue(10)
@maxValue(300)
param jobLockSeconds int = 300
@description('JOB_MAX_DELIVERY_COUNT and the jobs queue maxDeliveryCount.')
@minValue(1)
@maxValue(10)
param jobMaxDeliveryCount int = 3
@description('Give the api identity Service Bus Data Owner on its two trigger queues: the Flex Consumption scale controller reads queue length through the management API; with Listen (Receiver) alone it scales inaccurately and can fail to wake from zero.')
param grantApiServiceBusOwnerForScaling bool = true

// --- Cosmos DB ------------------------------------------------------------------------

@allowed([
  'Serverless'
  'Provisioned'
])
param cosmosCapacityMode string = 'Serverless'
@minValue(1000)
param cosmosAutoscaleMaxThroughput int = 1000
@allowed([
  'Continuous7Days'
  'Continuous30Days'
])
param cosmosBackupTier string = 'Continuous7Days'
@description('The worker never touches Cosmos (results travel over Service Bus); true grants it data access anyway.')
param grantWorkerCosmosAccess bool = false

// --- Redis (Azure Managed Redis) -------------------------------------------------------

@description('Azure Managed Redis SKU (modules/redis.bicep lists the allowed ones): Balanced_B1 = 1 GB with high availability.')
param redisSku string = 'Balanced_B1'
@description('false: no replica (half the price, cache lost on a node failure): dev environments only.')
param redisHighAvailability bool = true
@description('Subnet for a Redis private endpoint; when set, Redis public network access is disabled (set functionSubnetId too).')
param redisPrivateEndpointSubnetId string = ''
@description('Private DNS zone (privatelink.redis.azure.net) id for the Redis private endpoint.')
param redisPrivateDnsZoneId string = ''

// --- worker ---------------------------------------------------------------------------

@description('Region of the worker\'s Container Apps environment (serverless GPUs exist in few regions); empty for location.')
param workerLocation string = ''
@description('true runs the worker on a serverless GPU (needs quota in a supported region: infra/hooks/preprovision.sh checks both); false, the default, on the CPU consumption profile (WHISPER_DEVICE=cpu, int8), which works in every subscription.')
param workerUseGpu bool = false
@description('GPU workload profile type: Consumption-GPU-NC8as-T4, Consumption-GPU-NC24-A100 (serverless) or NC24-A100 etc. (dedicated).')
param workerGpuProfileType string = 'Consumption-GPU-NC8as-T4'
@description('Most worker replicas. On a GPU profile each replica holds one GPU: keep it within the subscription\'s serverless GPU quota (the preprovision hook checks).')
@minValue(1)
@maxValue(100)
param workerMaxReplicas int = 4
@description('KEDA messageCount: waiting transcription jobs per worker replica.')
@minValue(1)
param workerMessagesPerReplica int = 10
@description('Worker image (azd sets SERVICE_WORKER_IMAGE_NAME after `azd deploy worker`); empty for a placeholder.')
param workerImage string = ''
@description('vCPU per worker replica; empty for the profile default.')
param workerCpu string = ''
@description('Memory per worker replica (e.g. 56Gi); empty for the profile default.')
param workerMemory string = ''
@description('Port of the worker\'s GET /healthz endpoint; 0 while the worker serves none (no probes).')
param workerHealthProbePort int = 0

@allowed([
  'Basic'
  'Standard'
])
param registrySku string = 'Standard'
@description('Object id of another environment\'s deployment principal (production\'s, set on staging) that promotes images out of this registry with `az acr import`: it gets Reader (az acr import reads the source registry through ARM) and AcrPull. Empty for none.')
param registryImportPrincipalId string = ''

// --- app settings (README settings table) ---------------------------------------------

@description('WHISPER_MODEL of the worker: empty (default) uses the model the worker image bakes in (its WHISPER_MODEL=/opt/whisper-model when built with WHISPER_MODEL_REPO, else the app\'s default); or a model name / CTranslate2 model folder to override it.')
param whisperModel string = ''
param whisperBeamSize int = 5
@description('WORKER_CONCURRENCY: chunks one worker replica transcribes at once.')
@minValue(1)
param workerConcurrency int = 2
param chunkSeconds int = 30
param chunkOverlapSeconds int = 2
param chunkTimeoutSeconds int = 600
param chunkMaxDispatches int = 3
param maxVideoSeconds int = 10800
param predictionCacheTtlSeconds int = 604800
param uploadUrlTtlSeconds int = 3600

// --- front end, vault, logs -----------------------------------------------------------

@allowed([
  'Free'
  'Standard'
])
param staticWebAppSku string = 'Free'
@description('Static Web Apps exist in few regions.')
@allowed([
  'westus2'
  'centralus'
  'eastus2'
  'westeurope'
  'eastasia'
])
param staticWebAppLocation string = 'westeurope'
@description('Standard SKU only: link the function app as the Static Web App\'s /api backend.')
param linkStaticWebAppBackend bool = false

@description('Key Vault name; empty for a generated one. azd passes the name of the last provision (AZURE_KEY_VAULT_NAME), so a recovered vault keeps its name.')
param keyVaultName string = ''
@description('recover: the vault is soft-deleted (purge protection; after `azd down`) and is brought back. infra/hooks/preprovision.sh sets KEY_VAULT_CREATE_MODE.')
@allowed([
  'default'
  'recover'
])
param keyVaultCreateMode string = 'default'
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Disabled'

@minValue(30)
param logRetentionDays int = 30

// --- beyond one region (docs/deploy.md, "Beyond one region"; all off by default) ---------

@description('Azure Front Door with a WAF policy in front of the API: Standard_AzureFrontDoor (rate limiting) or Premium_AzureFrontDoor (plus managed rule sets); empty for none.')
@allowed([
  ''
  'Standard_AzureFrontDoor'
  'Premium_AzureFrontDoor'
])
param frontDoorSku string = ''
@description('Function app host name of a second region\'s deployment, the failover origin of Front Door; empty for none.')
param frontDoorSecondaryOriginHostName string = ''

@description('Token issuer the app trusts (AUTH_ISSUER): https://login.microsoftonline.com/{tenant-id}/v2.0, or …/{tenantid}/v2.0 for a multi-tenant app. Empty: the app reports the missing setting in /api/health and refuses every protected route.')
param authIssuer string = ''
@description('Audience (AUTH_AUDIENCE): the app registration\'s Application ID URI.')
param authAudience string = 'api://classroom-video'
@description('Organisations (tid) allowed to sign in, comma-separated; empty for any the issuer accepts.')
param authAllowedTenants string = ''
@description('API Management in front of the API (imports infra/openapi.json, validates tokens, rate-limits by caller where the tier allows). Deployed when a publisher e-mail is given.')
param apimPublisherEmail string = ''
param apimPublisherName string = 'Classroom video platform'
@allowed([
  'Consumption'
  'Developer'
  'BasicV2'
  'StandardV2'
])
param apimSkuName string = 'Consumption'

// --- names ----------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var names = {
  resourceGroup: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  apiIdentity: 'id-api-${resourceToken}'
  workerIdentity: 'id-worker-${resourceToken}'
  scalerIdentity: 'id-scaler-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  storage: 'st${resourceToken}'
  systemTopic: 'evgt-videos-${resourceToken}'
  serviceBus: 'sb-${resourceToken}'
  cosmos: 'cosmos-${resourceToken}'
  redis: 'redis-${resourceToken}'
  registry: 'cr${resourceToken}'
  keyVault: !empty(keyVaultName) ? keyVaultName : 'kv-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-api-${resourceToken}'
  containerAppsEnvironment: 'cae-${resourceToken}'
  worker: 'ca-worker-${resourceToken}'
  staticWebApp: 'stapp-${resourceToken}'
  apim: 'apim-${resourceToken}'
  frontDoor: 'afd-${resourceToken}'
}
// Flex Consumption deployment package container (same naming as the azd samples).
var deploymentContainerName = 'app-package-${take(names.functionApp, 32)}-${take(resourceToken, 7)}'
var blobTriggerFunctionName = 'on_video_uploaded'
var hasUser = !empty(principalId)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

// --- identities and monitoring --------------------------------------------------------

module identities 'modules/identities.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    apiIdentityName: names.apiIdentity
    workerIdentityName: names.workerIdentity
    scalerIdentityName: names.scalerIdentity
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    retentionInDays: logRetentionDays
  }
}

// --- front end (first: its origin feeds the CORS rules of the API and of blob storage) -

module staticWebApp 'modules/static-web-app.bicep' = {
  name: 'static-web-app'
  scope: rg
  params: {
    location: staticWebAppLocation
    tags: tags
    name: names.staticWebApp
    skuName: staticWebAppSku
  }
}

var corsOrigins = concat([staticWebApp.outputs.uri], additionalCorsOrigins)

// --- data -----------------------------------------------------------------------------

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.storage
    // GRS when a second region is wanted: its secondary is the Azure pair of `location`
    // (not selectable). Archive tiering rules out ZRS/GZRS.
    skuName: empty(secondaryLocation) ? 'Standard_LRS' : 'Standard_GRS'
    deploymentContainerName: deploymentContainerName
    videoCoolAfterDays: videoCoolAfterDays
    videoArchiveAfterDays: videoArchiveAfterDays
    videoRetentionDays: videoRetentionDays
    chunkRetentionDays: chunkRetentionDays
    blobSoftDeleteDays: blobSoftDeleteDays
    corsAllowedOrigins: corsOrigins
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.serviceBus
    skuName: serviceBusSku
    jobLockSeconds: jobLockSeconds
    maxDeliveryCount: jobMaxDeliveryCount
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    location: location
    tags: tags
    accountName: names.cosmos
    secondaryLocation: secondaryLocation
    capacityMode: cosmosCapacityMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    continuousBackupTier: cosmosBackupTier
    dataContributorPrincipalIds: concat([identities.outputs.apiPrincipalId], grantWorkerCosmosAccess ? [identities.outputs.workerPrincipalId] : [], hasUser ? [principalId] : [])
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.redis
    skuName: redisSku
    highAvailability: redisHighAvailability
    privateEndpointSubnetId: redisPrivateEndpointSubnetId
    privateDnsZoneId: redisPrivateDnsZoneId
    dataContributors: [
      {
        objectId: identities.outputs.apiPrincipalId
        alias: identities.outputs.apiIdentityName
      }
    ]
    dataOwners: hasUser ? [
      {
        objectId: principalId
        alias: 'deploying-principal'
      }
    ] : []
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.registry
    skuName: registrySku
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.keyVault
    createMode: keyVaultCreateMode
    publicNetworkAccess: keyVaultPublicNetworkAccess
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    chunksContainerName: storage.outputs.chunksContainerName
    serviceBusName: serviceBus.outputs.name
    jobsQueueName: serviceBus.outputs.jobsQueueName
    resultsQueueName: serviceBus.outputs.resultsQueueName
    registryName: registry.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    apiPrincipalId: identities.outputs.apiPrincipalId
    workerPrincipalId: identities.outputs.workerPrincipalId
    scalerPrincipalId: identities.outputs.scalerPrincipalId
    grantApiServiceBusOwnerForScaling: grantApiServiceBusOwnerForScaling
    registryImportPrincipalId: registryImportPrincipalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

// --- compute --------------------------------------------------------------------------

// Settings the app reads (README settings table), plus the adapter settings of the
// Azure adapters (services/): identity-based, so endpoints only, never keys.
//   COSMOS_ENDPOINT       https://{account}.documents.azure.com:443/ (services/results_cosmos.py)
//   COSMOS_DATABASE       classroom (containers videos, questions, feedback)
//   BLOB_ACCOUNT_URL      https://{account}.blob.core.windows.net/
//   SERVICEBUS_NAMESPACE  {namespace}.servicebus.windows.net (fully qualified)
//   REDIS_HOST            {name}.{region}.redis.azure.net (Azure Managed Redis); TLS port
//                         10000, Entra ID auth (user = the identity's object id, password =
//                         a token for https://redis.azure.com/.default: services/cache.py
//                         EntraIdCredentials). REDIS_URL stays unset: it would carry a key.
//   AZURE_CLIENT_ID       (set by the module) the identity DefaultAzureCredential uses
// Blobs and Service Bus adapters are chosen in services/settings.py from the Functions
// host's own connection settings (AzureWebJobsStorage__accountName,
// ServiceBusConnection__fullyQualifiedNamespace), which the module sets; BLOB_ACCOUNT_URL
// and SERVICEBUS_NAMESPACE name the same endpoints for code outside the host.
var functionAppSettings = {
  BLOB_ACCOUNT_URL: storage.outputs.primaryBlobEndpoint
  COSMOS_ENDPOINT: cosmos.outputs.endpoint
  COSMOS_DATABASE: cosmos.outputs.databaseName
  SERVICEBUS_NAMESPACE: serviceBus.outputs.fullyQualifiedNamespace
  REDIS_HOST: redis.outputs.hostName
  // The function app never transcribes (WHISPER_MODEL is the worker's); "auto" is valid on any host.
  WHISPER_DEVICE: 'auto'
  WHISPER_COMPUTE_TYPE: 'auto'
  WHISPER_BEAM_SIZE: whisperBeamSize
  WORKER_CONCURRENCY: workerConcurrency
  CHUNK_SECONDS: chunkSeconds
  CHUNK_OVERLAP_SECONDS: chunkOverlapSeconds
  CHUNK_TIMEOUT_SECONDS: chunkTimeoutSeconds
  CHUNK_MAX_DISPATCHES: chunkMaxDispatches
  MAX_VIDEO_SECONDS: maxVideoSeconds
  JOB_LOCK_SECONDS: jobLockSeconds
  JOB_MAX_DELIVERY_COUNT: jobMaxDeliveryCount
  PREDICTION_CACHE_TTL_SECONDS: predictionCacheTtlSeconds
  UPLOAD_URL_TTL_SECONDS: uploadUrlTtlSeconds
  AUTH_ISSUER: authIssuer
  AUTH_AUDIENCE: authAudience
  AUTH_ALLOWED_TENANTS: authAllowedTenants
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.functionApp
    planName: names.plan
    identityId: identities.outputs.apiIdentityId
    identityClientId: identities.outputs.apiClientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.primaryBlobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
    alwaysReadyHttpInstances: functionAlwaysReadyInstances
    alwaysReadyDurableInstances: functionDurableAlwaysReadyInstances
    virtualNetworkSubnetId: functionSubnetId
    corsAllowedOrigins: corsOrigins
    appSettings: functionAppSettings
  }
  // The host must start with its storage and Service Bus roles in place.
  dependsOn: [
    rbac
  ]
}

module blobEvents 'modules/blob-events.bicep' = {
  name: 'blob-events'
  scope: rg
  params: {
    location: location
    tags: tags
    systemTopicName: names.systemTopic
    storageAccountId: storage.outputs.id
    videosContainerName: storage.outputs.videosContainerName
    subscriptionEnabled: blobEventSubscriptionEnabled
    functionAppName: functionApp.outputs.name
    blobTriggerFunctionName: blobTriggerFunctionName
  }
}

module staticWebAppBackend 'modules/static-web-app-backend.bicep' = if (linkStaticWebAppBackend && staticWebAppSku == 'Standard') {
  name: 'static-web-app-backend'
  scope: rg
  params: {
    staticWebAppName: staticWebApp.outputs.name
    backendResourceId: functionApp.outputs.id
    backendLocation: location
  }
}

module frontDoor 'modules/front-door.bicep' = if (!empty(frontDoorSku)) {
  name: 'front-door'
  scope: rg
  params: {
    name: names.frontDoor
    tags: tags
    skuName: !empty(frontDoorSku) ? frontDoorSku : 'Standard_AzureFrontDoor'
    primaryOriginHostName: functionApp.outputs.defaultHostName
    secondaryOriginHostName: frontDoorSecondaryOriginHostName
  }
}

@description('E-mail address for the ML alerts (dead letters, failure rate, classify p99, transcription speed); empty: alerts fire without notifying anyone.')
param alertEmail string = ''

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: resourceToken
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
  }
}

module apim 'modules/apim.bicep' = if (!empty(apimPublisherEmail)) {
  name: 'apim'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.apim
    skuName: apimSkuName
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    functionAppHostName: functionApp.outputs.defaultHostName
    authIssuer: authIssuer
    authAudience: authAudience
  }
}

module worker 'modules/container-apps.bicep' = {
  name: 'worker'
  scope: rg
  params: {
    location: !empty(workerLocation) ? workerLocation : location
    tags: tags
    environmentName: names.containerAppsEnvironment
    appName: names.worker
    useGpu: workerUseGpu
    gpuProfileType: workerGpuProfileType
    image: workerImage
    registryLoginServer: registry.outputs.loginServer
    workerIdentityId: identities.outputs.workerIdentityId
    workerIdentityClientId: identities.outputs.workerClientId
    scalerIdentityId: identities.outputs.scalerIdentityId
    serviceBusName: serviceBus.outputs.name
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    jobsQueueName: serviceBus.outputs.jobsQueueName
    blobAccountUrl: storage.outputs.primaryBlobEndpoint
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    maxReplicas: workerMaxReplicas
    messagesPerReplica: workerMessagesPerReplica
    cpu: workerCpu
    memory: workerMemory
    healthProbePort: workerHealthProbePort
    // WHISPER_MODEL only when set: otherwise the image's own (the model it bakes) applies.
    workerSettings: union({
      WHISPER_BEAM_SIZE: whisperBeamSize
      WORKER_CONCURRENCY: workerConcurrency
      JOB_LOCK_SECONDS: jobLockSeconds
      JOB_MAX_DELIVERY_COUNT: jobMaxDeliveryCount
    }, empty(whisperModel) ? {} : {
      WHISPER_MODEL: whisperModel
    })
  }
  // AcrPull and the scaler's queue role must exist before the first revision.
  dependsOn: [
    rbac
  ]
}

// --- outputs (azd writes them to .azure/{env}/.env) -----------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name

// azd: where `azd deploy worker` pushes the image
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
@description('Resource id of the registry: the --registry of `az acr import` when another environment promotes an image from it.')
output AZURE_CONTAINER_REGISTRY_ID string = registry.outputs.id
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = worker.outputs.environmentName
output AZURE_CONTAINER_APPS_ENVIRONMENT_ID string = worker.outputs.environmentId

output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_WORKER_NAME string = worker.outputs.appName
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.uri
output LINK_STATIC_WEB_APP_BACKEND bool = linkStaticWebAppBackend && staticWebAppSku == 'Standard'
output API_GATEWAY_URL string = !empty(apimPublisherEmail) ? apim!.outputs.apiUrl : ''

@description('The API through Front Door when frontDoorSku is set, else empty.')
output FRONT_DOOR_URL string = !empty(frontDoorSku) ? frontDoor.outputs.uri : ''
output STATIC_WEB_APP_NAME string = staticWebApp.outputs.name
output STATIC_WEB_APP_URL string = staticWebApp.outputs.uri

// Endpoints the app reads (same names as the app settings)
output BLOB_ACCOUNT_URL string = storage.outputs.primaryBlobEndpoint
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = cosmos.outputs.databaseName
output REDIS_HOST string = redis.outputs.hostName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.endpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
@description('Name of the app setting that holds the Application Insights connection string.')
output APPLICATIONINSIGHTS_CONNECTION_STRING_SETTING string = 'APPLICATIONINSIGHTS_CONNECTION_STRING'
@description('Every app setting of the function app, for documentation and checks.')
output FUNCTION_APP_SETTING_NAMES array = functionApp.outputs.appSettingNames

// Used by the api postdeploy hook in azure.yaml
output BLOB_EVENTS_SYSTEM_TOPIC_NAME string = blobEvents.outputs.systemTopicName
output BLOB_EVENTS_SUBSCRIPTION_NAME string = blobEvents.outputs.subscriptionName
output BLOB_TRIGGER_FUNCTION_NAME string = blobTriggerFunctionName
// Written back to the azd environment, so a fresh checkout (CI runs `azd env refresh`) keeps declaring the
// subscription once the hook has created it; the preprovision hook turns it off while the code is missing.
output BLOB_EVENT_SUBSCRIPTION_ENABLED bool = blobEventSubscriptionEnabled
output VIDEOS_CONTAINER_NAME string = storage.outputs.videosContainerName
output CHUNKS_CONTAINER_NAME string = storage.outputs.chunksContainerName
