// Service Bus: the job queue between the orchestration and the GPU worker.
//
//   transcription-jobs     orchestration (dispatch_chunks activity) -> worker
//                          dead letters -> the function `on_dead_lettered_job`
//                          (queue "transcription-jobs/$DeadLetterQueue")
//   transcription-results  worker -> the function `on_transcription_result`
//
// Local (SAS) auth is disabled: the Functions host uses ServiceBusConnection__* with the
// api identity, the worker and the KEDA scaler use their own identities.

param location string
param tags object
param name string

@description('Standard is enough for this traffic; Premium adds isolation, zone redundancy and private endpoints.')
@allowed([
  'Standard'
  'Premium'
])
param skuName string = 'Standard'

@description('Messaging units (Premium only).')
@allowed([
  1
  2
  4
  8
  16
])
param premiumCapacity int = 1

@description('Peek-lock duration of a transcription job in seconds (the app setting JOB_LOCK_SECONDS). Service Bus allows at most 5 minutes.')
@minValue(10)
@maxValue(300)
param jobLockSeconds int = 300

@description('Deliveries of a job before Service Bus dead-letters it (the app setting JOB_MAX_DELIVERY_COUNT).')
@minValue(1)
@maxValue(10)
param maxDeliveryCount int = 3

@description('Duplicate detection window. Job ids carry the attempt number, so a deliberate re-dispatch is never dropped; a repeated send of the same attempt is.')
param duplicateDetectionWindow string = 'PT10M'

@description('A job nobody picked up within this time is dead-lettered, which the orchestration sees as a failed attempt.')
param jobTimeToLive string = 'P1D'

param jobsQueueName string = 'transcription-jobs'
param resultsQueueName string = 'transcription-results'

@description('Log Analytics workspace for diagnostics; empty for none.')
param logAnalyticsWorkspaceId string = ''

var sku = skuName == 'Premium' ? {
  name: 'Premium'
  tier: 'Premium'
  capacity: premiumCapacity
} : {
  name: 'Standard'
  tier: 'Standard'
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: sku
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    zoneRedundant: skuName == 'Premium'
  }
}

resource jobsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: jobsQueueName
  properties: {
    lockDuration: 'PT${jobLockSeconds}S'
    maxDeliveryCount: maxDeliveryCount
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: jobTimeToLive
    requiresSession: false
    enablePartitioning: false
    maxSizeInMegabytes: 1024
  }
}

resource resultsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: resultsQueueName
  properties: {
    // The result handler only raises a Durable event: a minute is plenty.
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: jobTimeToLive
    requiresSession: false
    enablePartitioning: false
    maxSizeInMegabytes: 1024
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'operational'
  scope: namespace
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'OperationalLogs'
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

output id string = namespace.id
output name string = namespace.name
// serviceBusEndpoint is https://{name}.servicebus.windows.net:443/ (suffix differs per cloud).
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output jobsQueueName string = jobsQueue.name
output resultsQueueName string = resultsQueue.name
