// Cosmos DB for NoSQL: database "classroom" with the results of the video pipeline.
//
// Partition keys (every record carries tenant_id; every query is tenant-scoped). They
// match the Cosmos adapter, services/results_cosmos.py, which reads and writes with
// these keys and cannot create containers itself under data-plane RBAC:
//
//   videos     /tenant_id  per video a status document ("video:{id}", doc_type "video")
//              and an analysis document ("analysis:{id}", doc_type "analysis", the
//              transcript under body). The API's list query - a tenant's most recent
//              videos, ORDER BY updated_at DESC - stays inside one logical partition,
//              and point reads / etag-guarded patches of the status document need only
//              the tenant. Limit: one tenant's documents share a 20 GB logical
//              partition (tens of thousands of analysed videos with their transcripts).
//              A tenant that could outgrow it calls for [/tenant_id, /video_id] (MultiHash)
//              here too: a new container plus a copy, since a partition key is immutable.
//   questions  [/tenant_id, /video_id] hierarchical (MultiHash): every read is "the
//              questions of one video" (a single logical partition, batchable), the tenant
//              as first level keeps a tenant's data together and a long history never
//              hits the 20 GB cap.
//   feedback   /tenant_id  small reviewer corrections, exported per tenant for retraining.
//
// Local (key) auth is off: clients use Entra ID with the Cosmos DB Built-in Data
// Contributor data-plane role, assigned below at database scope.

param location string
param tags object
param accountName string

@description('Second region (failover, provisioned mode only; serverless accounts are single-region). Empty for none.')
param secondaryLocation string = ''

@description('Serverless (pay per request, no idle cost; fits bursty classroom uploads) or Provisioned (autoscale throughput shared by the database).')
@allowed([
  'Serverless'
  'Provisioned'
])
param capacityMode string = 'Serverless'

@description('Autoscale maximum RU/s of the shared database throughput (Provisioned only).')
@minValue(1000)
param autoscaleMaxThroughput int = 1000

@description('Continuous backup (point-in-time restore) window.')
@allowed([
  'Continuous7Days'
  'Continuous30Days'
])
param continuousBackupTier string = 'Continuous7Days'

param databaseName string = 'classroom'

@description('Principal ids (managed identities or users) given Cosmos DB Built-in Data Contributor on the database.')
param dataContributorPrincipalIds array = []

@description('Log Analytics workspace for control-plane diagnostics; empty for none.')
param logAnalyticsWorkspaceId string = ''

var serverless = capacityMode == 'Serverless'
var multiRegion = !serverless && !empty(secondaryLocation)
var primaryLocations = [
  {
    locationName: location
    failoverPriority: 0
    isZoneRedundant: false
  }
]
var failoverLocations = multiRegion ? [
  {
    locationName: secondaryLocation
    failoverPriority: 1
    isZoneRedundant: false
  }
] : []
var serverlessCapabilities = [
  {
    name: 'EnableServerless'
  }
]
var databaseOptions = serverless ? {} : {
  autoscaleSettings: {
    maxThroughput: autoscaleMaxThroughput
  }
}

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  // checkov:skip=CKV_AZURE_99: no IP/VNet filter: the Flex Consumption app has no VNet integration by default and outbound IPs are not fixed; data-plane access needs Entra ID (disableLocalAuth true) and an RBAC role
  // checkov:skip=CKV_AZURE_101: public network access stays enabled for the same reason as CKV_AZURE_99; add a private endpoint together with VNet integration of the function app to turn it off
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: concat(primaryLocations, failoverLocations)
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: serverless ? serverlessCapabilities : []
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: continuousBackupTier
      }
    }
    enableAutomaticFailover: multiRegion
    enableMultipleWriteLocations: false
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    publicNetworkAccess: 'Enabled'
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: databaseOptions
  }
}

resource videos 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'videos'
  properties: {
    resource: {
      id: 'videos'
      partitionKey: {
        paths: [
          '/tenant_id'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        // The transcript (segments, inside the analysis document's body) is by far the
        // largest text and is never filtered on: indexing it would only cost RUs on every
        // write. /segments/* covers a flat layout of the same data.
        excludedPaths: [
          {
            path: '/body/*'
          }
          {
            path: '/segments/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
        // A tenant's most recent videos:
        //   WHERE c.tenant_id = @tenant AND c.doc_type = 'video' ORDER BY c.updated_at DESC
        compositeIndexes: [
          [
            {
              path: '/tenant_id'
              order: 'ascending'
            }
            {
              path: '/doc_type'
              order: 'ascending'
            }
            {
              path: '/updated_at'
              order: 'descending'
            }
          ]
          [
            {
              path: '/doc_type'
              order: 'ascending'
            }
            {
              path: '/updated_at'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
}

resource questions 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'questions'
  properties: {
    resource: {
      id: 'questions'
      partitionKey: {
        paths: [
          '/tenant_id'
          '/video_id'
        ]
        kind: 'MultiHash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        // The question itself (text, label, timings) lives under body and is only read back.
        excludedPaths: [
          {
            path: '/body/*'
          }
          {
            path: '/"_etag"/?'
          }
        ]
        // The questions of one saved revision in order:
        //   WHERE c.tenant_id = @t AND c.video_id = @v AND c.rev = @rev ORDER BY c.position
        compositeIndexes: [
          [
            {
              path: '/rev'
              order: 'ascending'
            }
            {
              path: '/position'
              order: 'ascending'
            }
          ]
        ]
      }
    }
  }
}

resource feedback 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'feedback'
  properties: {
    resource: {
      id: 'feedback'
      partitionKey: {
        paths: [
          '/tenant_id'
        ]
        kind: 'Hash'
        version: 2
      }
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
        compositeIndexes: [
          [
            {
              path: '/tenant_id'
              order: 'ascending'
            }
            {
              path: '/created_at'
              order: 'descending'
            }
          ]
        ]
      }
    }
  }
}

// Cosmos DB Built-in Data Contributor (data plane), scoped to the database only.
var dataContributorRoleId = '${account.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002'

resource dataContributors 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = [
  for principalId in dataContributorPrincipalIds: {
    parent: account
    name: guid(account.id, database.id, principalId, dataContributorRoleId)
    properties: {
      roleDefinitionId: dataContributorRoleId
      principalId: principalId
      scope: '${account.id}/dbs/${database.name}'
    }
  }
]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'control-plane'
  scope: account
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'ControlPlaneRequests'
        enabled: true
      }
    ]
  }
}

output id string = account.id
output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
