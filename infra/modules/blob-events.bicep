// Event Grid for the blob trigger (source = EventGrid), the only blob trigger kind the
// Flex Consumption plan supports: a system topic on the storage account and a
// subscription that delivers BlobCreated events for the "videos" container to the
// function app's blob extension webhook:
//
//   https://{host}/runtime/webhooks/blobs?functionName=Host.Functions.{function}&code={blobs_extension key}
//
// The blobs_extension system key exists only after the app's code (with its blob
// trigger) has been deployed and the host has started once, so on a first `azd up`
// the subscription cannot be declared here yet. Same pattern as the Azure-Samples
// Flex Consumption blob/Event Grid quickstarts: the topic is provisioned here, and
// azure.yaml's postdeploy hook of the `api` service creates the subscription with
// the same name and settings, then sets BLOB_EVENT_SUBSCRIPTION_ENABLED=true so every
// later `azd provision` declares it here (reading the key with listKeys) and owns it.

param location string
param tags object
param systemTopicName string
param storageAccountId string
param videosContainerName string

@description('Declare the event subscription (true once the function code is deployed; see the header).')
param subscriptionEnabled bool = false
param subscriptionName string = 'videos-blob-created'
@description('Function app name (for the webhook host and the blobs_extension key).')
param functionAppName string
@description('Name of the blob-triggered function in blueprints/video_pipeline.py.')
param blobTriggerFunctionName string = 'on_video_uploaded'

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource functionHost 'Microsoft.Web/sites/host@2023-12-01' existing = {
  parent: functionApp
  name: 'default'
}

resource videoCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (subscriptionEnabled) {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${functionHost.listKeys().systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${videosContainerName}/blobs/'
      // One event per finished upload: a block upload ends with PutBlockList; the
      // intermediate operations of other APIs would start the pipeline too early.
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.api'
          values: [
            'PutBlob'
            'PutBlockList'
            'CopyBlob'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = systemTopic.name
output subscriptionName string = subscriptionName
