// Azure Cache for Redis: the prediction cache, per-video summary cache and progress.
//
// Azure Cache for Redis (not Azure Managed Redis) because the app's Redis adapter and
// the README speak to *.redis.cache.windows.net:6380 and the Standard C0/C1 tiers are
// the cheapest replicated option; moving to Azure Managed Redis later changes this
// module and REDIS_HOST only.
//
// TLS only (port 6380), access keys disabled, Entra ID authentication on
// (redisConfiguration 'aad-enabled'). Clients authenticate with a token of their managed
// identity: username = the identity's object id, password = an Entra access token for
// https://redis.azure.com/.default (see the REDIS_HOST note in main.bicep).

param location string
param tags object
param name string

@allowed([
  'Basic'
  'Standard'
  'Premium'
])
@description('Standard (replicated, SLA) is the default; Premium adds VNet/zone options. Basic has no replica and no SLA.')
param skuName string = 'Standard'

@description('Cache size: C0-C6 for Basic/Standard, P1-P5 for Premium.')
@minValue(0)
@maxValue(6)
param capacity int = 1

@description('Subnet for a private endpoint. When set, public network access is disabled (clients then need VNet integration).')
param privateEndpointSubnetId string = ''

@description('Private DNS zone privatelink.redis.cache.windows.net to register the endpoint in; empty to manage DNS elsewhere.')
param privateDnsZoneId string = ''

@description('Identities given the built-in "Data Contributor" access policy: [{ objectId, alias }].')
param dataContributors array = []

@description('Identities given the built-in "Data Owner" access policy (e.g. the deploying user, for debugging): [{ objectId, alias }].')
param dataOwners array = []

@description('Log Analytics workspace for diagnostics; empty for none.')
param logAnalyticsWorkspaceId string = ''

var usePrivateEndpoint = !empty(privateEndpointSubnetId)

resource redis 'Microsoft.Cache/redis@2024-11-01' = {
  // checkov:skip=CKV_AZURE_89: public network access is disabled exactly when privateEndpointSubnetId is set; without VNet integration of the Flex Consumption app the public (TLS-only, Entra-only) endpoint is the only way in
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
      family: skuName == 'Premium' ? 'P' : 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: usePrivateEndpoint ? 'Disabled' : 'Enabled'
    disableAccessKeyAuthentication: true
    redisVersion: '6'
    redisConfiguration: {
      'aad-enabled': 'true'
      // Only keys with a TTL are evicted under memory pressure (predictions and
      // summaries all carry one), never an in-flight progress key without TTL.
      'maxmemory-policy': 'volatile-lru'
    }
  }
}

// Redis applies one access-policy change at a time: assign serially.
@batchSize(1)
resource contributorAssignments 'Microsoft.Cache/redis/accessPolicyAssignments@2024-11-01' = [
  for identity in dataContributors: {
    parent: redis
    name: guid(redis.id, identity.objectId, 'Data Contributor')
    properties: {
      accessPolicyName: 'Data Contributor'
      objectId: identity.objectId
      objectIdAlias: identity.alias
    }
  }
]

@batchSize(1)
resource ownerAssignments 'Microsoft.Cache/redis/accessPolicyAssignments@2024-11-01' = [
  for identity in dataOwners: {
    parent: redis
    name: guid(redis.id, identity.objectId, 'Data Owner')
    properties: {
      accessPolicyName: 'Data Owner'
      objectId: identity.objectId
      objectIdAlias: identity.alias
    }
    dependsOn: [
      contributorAssignments
    ]
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
          privateLinkServiceId: redis.id
          groupIds: [
            'redisCache'
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

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(logAnalyticsWorkspaceId)) {
  name: 'connections'
  scope: redis
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'ConnectedClientList'
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

output id string = redis.id
output name string = redis.name
output hostName string = redis.properties.hostName
output sslPort int = redis.properties.sslPort
