// Azure Managed Redis: the prediction cache, per-video summary cache and progress.
//
// Azure Managed Redis (Microsoft.Cache/redisEnterprise + its one database, "default"), not
// Azure Cache for Redis (Microsoft.Cache/redis), which retires on 2028-09-30 and no longer
// takes new caches in many subscriptions.
//
// What the app's adapter (services/cache.py, RedisCache.with_entra_id) relies on:
//   host      {name}.{region}.redis.azure.net (the cluster's hostName output -> REDIS_HOST)
//   port      10000, TLS only (clientProtocol Encrypted)
//   auth      Microsoft Entra ID only (accessKeysAuthentication Disabled): user = the
//             identity's object id, password = a token for https://redis.azure.com/.default;
//             each identity gets the database's "default" access policy below
//   cluster   EnterpriseCluster: one endpoint, a proxy routes each key to its shard, so the
//             adapter's plain (non-cluster) redis-py client works unchanged and its multi-key
//             commands (MGET, DEL) work across slots (the proxy allows DEL, MGET, MSET, EXISTS,
//             UNLINK, TOUCH across slots). OSSCluster would need redis-py's RedisCluster client
//             and same-slot keys for MGET; NoCluster caps the cache at one shard.
//   eviction  VolatileLRU: only keys with a TTL are evicted under memory pressure
//             (predictions and summaries all carry one), never an in-flight progress key.

param location string
param tags object
param name string

@description('Azure Managed Redis SKU. Balanced_B1 (1 GB, high availability) replaces the old Standard C1; Balanced_B0 (0.5 GB) for a cheap dev environment; Balanced_B3/B5 or MemoryOptimized_M10 as the cache grows.')
@allowed([
  'Balanced_B0'
  'Balanced_B1'
  'Balanced_B3'
  'Balanced_B5'
  'Balanced_B10'
  'MemoryOptimized_M10'
  'MemoryOptimized_M20'
  'ComputeOptimized_X3'
  'ComputeOptimized_X5'
])
param skuName string = 'Balanced_B1'

@description('Replica shards on a second node (the SLA). Disabled halves the price and loses the cache on a node failure: for dev only.')
param highAvailability bool = true

@description('Subnet for a private endpoint. When set, public network access is disabled (clients then need VNet integration).')
param privateEndpointSubnetId string = ''

@description('Private DNS zone privatelink.redis.azure.net to register the endpoint in; empty to manage DNS elsewhere.')
param privateDnsZoneId string = ''

@description('Identities given data access (the database\'s "default" access policy, read/write): [{ objectId, alias }].')
param dataContributors array = []

@description('More identities with the same access (e.g. the deploying user, for debugging): [{ objectId, alias }].')
param dataOwners array = []

@description('Log Analytics workspace for diagnostics; empty for none.')
param logAnalyticsWorkspaceId string = ''

var usePrivateEndpoint = !empty(privateEndpointSubnetId)
var port = 10000
// Azure Managed Redis offers one access policy for Entra ID users, "default" (full data access, no
// management commands). Both lists get it; they stay two parameters so that main.bicep keeps saying
// which identity is which.
var dataUsers = concat(dataContributors, dataOwners)

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: '1.2'
    highAvailability: highAvailability ? 'Enabled' : 'Disabled'
    publicNetworkAccess: usePrivateEndpoint ? 'Disabled' : 'Enabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: port
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'VolatileLRU'
    accessKeysAuthentication: 'Disabled'
  }
}

// Access policy changes are applied one at a time: assign serially. The name allows letters and
// digits only (1-60), hence the guid without its dashes.
@batchSize(1)
resource dataAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = [
  for identity in dataUsers: {
    parent: database
    name: replace(guid(database.id, identity.objectId, 'default'), '-', '')
    properties: {
      accessPolicyName: 'default'
      user: {
        objectId: identity.objectId
      }
    }
  }
]

resource privateEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (usePrivateEndpoint) {
  name: 'pe-${name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: privateEndpointSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'redis'
        properties: {
          privateLinkServiceId: cluster.id
          groupIds: [
            'redisEnterprise'
          ]
        }
      }
    ]
  }
}

resource privateDnsZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (usePrivateEndpoint && !empty(privateDnsZoneId)) {
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'redis'
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

// Connection events (connect, authenticate, disconnect) are the database's only log category.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'connections'
  scope: database
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'ConnectionEvents'
        enabled: true
      }
    ]
  }
}

output id string = cluster.id
output name string = cluster.name
output hostName string = cluster.properties.hostName
output port int = port
