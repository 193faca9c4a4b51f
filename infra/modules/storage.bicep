// The one storage account of the app:
//   - AzureWebJobsStorage of the Functions host (identity-based), which is also the
//     Durable Functions task hub (queues + tables) and the blob trigger's storage;
//   - the app's data: "videos" (uploads, videos/{tenant}/{video_id}.{ext}) and
//     "chunks" (16 kHz audio chunks and their transcripts, short-lived);
//   - the Flex Consumption deployment package container.
//
// Shared-key access is off: every client (Functions host, Durable extension, app code,
// worker, Event Grid system topic, the deploying user) authenticates with Entra ID.
// Upload URLs the API hands out must therefore be user-delegation SAS (signed with a
// key from generateUserDelegationKey, which Storage Blob Data Owner/Contributor allows).

param location string
param tags object
param name string

@description('Replication. Archive tier (used by the videos lifecycle rule) needs LRS, GRS or RA-GRS; ZRS/GZRS cannot archive.')
@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_LRS'

param videosContainerName string = 'videos'
param chunksContainerName string = 'chunks'
param deploymentContainerName string

@description('Days after the last write before an uploaded video moves from hot to cool.')
@minValue(1)
param videoCoolAfterDays int = 30

@description('Days after the last write before an uploaded video moves to archive (must be > videoCoolAfterDays).')
@minValue(1)
param videoArchiveAfterDays int = 90

@description('Days after the last write before an uploaded video is deleted (must be > videoArchiveAfterDays; archive bills at least 180 days).')
@minValue(1)
param videoRetentionDays int = 365

@description('Days after the last write before audio chunks and chunk transcripts are deleted.')
@minValue(1)
@maxValue(7)
param chunkRetentionDays int = 2

@description('Blob soft-delete window in days; 0 turns soft delete off. Recordings of children: keep it short, a deleted video stays recoverable this long.')
@minValue(0)
@maxValue(365)
param blobSoftDeleteDays int = 7

@description('Browser origins allowed to PUT uploads directly to blob storage (the Static Web App).')
param corsAllowedOrigins array = []

@description('Log Analytics workspace for blob service diagnostics; empty for none.')
param logAnalyticsWorkspaceId string = ''

var softDelete = blobSoftDeleteDays > 0 ? {
  enabled: true
  days: blobSoftDeleteDays
} : {
  enabled: false
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: replication is chosen in main.bicep: Standard_GRS when secondaryLocation is set, Standard_LRS for a single-region deployment (a lost recording can be uploaded again; the results live in Cosmos DB with continuous backup). ZRS/GZRS are excluded because the videos lifecycle rule archives
  // checkov:skip=CKV_AZURE_35: the Flex Consumption app runs without VNet integration by default and browsers upload straight to blob storage, so the network rule must allow public traffic; access is still Entra-only (allowSharedKeyAccess false)
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35: public endpoint required for browser uploads and the non-VNet function app; anonymous blob access is off and shared keys are disabled
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    dnsEndpointType: 'Standard'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: softDelete
    containerDeleteRetentionPolicy: softDelete
    cors: {
      corsRules: empty(corsAllowedOrigins) ? [] : [
        {
          // The front end PUTs the file to the upload URL from POST /api/v1/videos.
          allowedOrigins: corsAllowedOrigins
          allowedMethods: [
            'PUT'
            'HEAD'
            'OPTIONS'
          ]
          allowedHeaders: [
            'content-type'
            'x-ms-*'
          ]
          exposedHeaders: [
            'etag'
            'x-ms-*'
          ]
          maxAgeInSeconds: 3600
        }
      ]
    }
  }
}

resource videos 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: videosContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource chunks 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: chunksContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Lifecycle: videos age hot -> cool -> archive -> deleted; chunks are scratch space
// (the orchestration has finished with them long before chunkRetentionDays).
// Archived videos cannot be re-analysed without rehydration; re-analysis of old
// recordings is not a feature of the app.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'videos-age-out'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${videosContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: videoCoolAfterDays
                }
                tierToArchive: {
                  daysAfterModificationGreaterThan: videoArchiveAfterDays
                }
                delete: {
                  daysAfterModificationGreaterThan: videoRetentionDays
                }
              }
            }
          }
        }
        {
          name: 'chunks-scratch'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${chunksContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: chunkRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

// Cheap diagnostics: writes and deletes on blobs (uploads, deletions of children's
// recordings are worth an audit trail); reads are left out (the worker reads every chunk).
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'blob-audit'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

output id string = storage.id
output name string = storage.name
output primaryBlobEndpoint string = storage.properties.primaryEndpoints.blob
output videosContainerName string = videos.name
output chunksContainerName string = chunks.name
output deploymentContainerName string = deployment.name
