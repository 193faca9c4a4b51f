// Event Grid for the upload trigger: a system topic on the storage account and a
// subscription that delivers BlobCreated events for the "videos" container to the
// Event Grid-triggered function on_video_uploaded (blueprints/video_pipeline.py), as an
// Azure Function destination. The function gets the event (the blob's name), never the
// blob: a blob trigger with InputStream would make the host read a multi-GB video into
// memory.
//
// A function destination must exist when the subscription is created, i.e. after the
// app's code is deployed. So, as in the Azure-Samples Flex Consumption Event Grid
// quickstarts: the topic is provisioned here; azure.yaml's postdeploy hook of the `api`
// service creates the subscription with the same name and settings once the function
// exists, then sets BLOB_EVENT_SUBSCRIPTION_ENABLED=true so every later `azd provision`
// declares it here and owns it (infra/hooks/preprovision.sh turns the flag off again
// while the function is missing).

param location string
param tags object
param systemTopicName string
param storageAccountId string
param videosContainerName string

@description('Declare the event subscription (true once the function code is deployed; see the header).')
param subscriptionEnabled bool = false
param subscriptionName string = 'videos-blob-created'
@description('Function app name (the subscription delivers to one of its functions).')
param functionAppName string
@description('Name of the Event Grid-triggered function in blueprints/video_pipeline.py.')
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

resource videoCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (subscriptionEnabled) {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/${blobTriggerFunctionName}'
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
