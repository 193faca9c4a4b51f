// Azure Front Door with a WAF policy in front of the API: the first step beyond one region
// (docs/deploy.md, "Beyond one region"). Off by default (main.bicep: frontDoorSku empty).
//
//   endpoint  https://{endpoint}.z01.azurefd.net/api/* -> origin group "api"
//   origins   the function app of this deployment (priority 1) and, when given, the function
//             app of a second region's deployment (priority 2: failover when the health probe,
//             GET /api/health, fails in the first)
//   WAF       a per-client-IP rate limit on /api/ (Standard and Premium); Premium adds
//             Microsoft's managed rule sets (DRS 2.1: OWASP-style attacks; bot manager)
//
// Not done here: locking the function apps to Front Door (access restriction on the
// AzureFrontDoor.Backend service tag plus the X-Azure-FDID header); until then the apps'
// own host names stay reachable directly.

param name string
param tags object

@allowed([
  'Standard_AzureFrontDoor'
  'Premium_AzureFrontDoor'
])
param skuName string = 'Standard_AzureFrontDoor'

@description('Host name of this deployment\'s function app (func-api-….azurewebsites.net).')
param primaryOriginHostName string

@description('Host name of the function app in a second region (its own `azd up`); empty for none.')
param secondaryOriginHostName string = ''

@description('Requests a client IP may make to /api/ per minute before the WAF blocks it for the rest of that minute.')
@minValue(10)
param requestsPerMinutePerIp int = 1000

@description('Prevention blocks what the rules match; Detection only logs (for a first week of tuning).')
@allowed([
  'Prevention'
  'Detection'
])
param wafMode string = 'Prevention'

var premium = skuName == 'Premium_AzureFrontDoor'
var managedRuleSets = premium ? [
  {
    ruleSetType: 'Microsoft_DefaultRuleSet'
    ruleSetVersion: '2.1'
    ruleSetAction: 'Block'
  }
  {
    ruleSetType: 'Microsoft_BotManagerRuleSet'
    ruleSetVersion: '1.1'
  }
] : []
var originHostNames = concat([primaryOriginHostName], empty(secondaryOriginHostName) ? [] : [secondaryOriginHostName])

resource waf 'Microsoft.Network/FrontDoorWebApplicationFirewallPolicies@2025-10-01' = {
  // WAF policy names: letters and digits only.
  name: replace(name, '-', '')
  location: 'global'
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    policySettings: {
      enabledState: 'Enabled'
      mode: wafMode
      requestBodyCheck: 'Enabled'
    }
    customRules: {
      rules: [
        {
          name: 'ApiRateLimitPerIp'
          priority: 100
          enabledState: 'Enabled'
          ruleType: 'RateLimitRule'
          rateLimitDurationInMinutes: 1
          rateLimitThreshold: requestsPerMinutePerIp
          matchConditions: [
            {
              matchVariable: 'RequestUri'
              operator: 'Contains'
              matchValue: [
                '/api/'
              ]
            }
          ]
          action: 'Block'
        }
      ]
    }
    managedRules: {
      managedRuleSets: managedRuleSets
    }
  }
}

resource profile 'Microsoft.Cdn/profiles@2025-06-01' = {
  name: name
  location: 'global'
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    // The analysis of a long video is read in one response; 60 s covers it.
    originResponseTimeoutSeconds: 60
  }
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2025-06-01' = {
  parent: profile
  name: name
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2025-06-01' = {
  parent: profile
  name: 'api'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    healthProbeSettings: {
      probePath: '/api/health'
      probeRequestType: 'GET'
      probeProtocol: 'Https'
      probeIntervalInSeconds: 60
    }
    sessionAffinityState: 'Disabled'
  }
}

resource origins 'Microsoft.Cdn/profiles/originGroups/origins@2025-06-01' = [
  for (hostName, position) in originHostNames: {
    parent: originGroup
    name: 'region-${position + 1}'
    properties: {
      hostName: hostName
      originHostHeader: hostName
      httpPort: 80
      httpsPort: 443
      priority: position + 1
      weight: 1000
      enabledState: 'Enabled'
      enforceCertificateNameCheck: true
    }
  }
]

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2025-06-01' = {
  parent: endpoint
  name: 'api'
  properties: {
    originGroup: {
      id: originGroup.id
    }
    supportedProtocols: [
      'Https'
    ]
    patternsToMatch: [
      '/api/*'
    ]
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    httpsRedirect: 'Disabled'
  }
  dependsOn: [
    origins
  ]
}

resource securityPolicy 'Microsoft.Cdn/profiles/securityPolicies@2025-06-01' = {
  parent: profile
  name: 'waf'
  properties: {
    parameters: {
      type: 'WebApplicationFirewall'
      wafPolicy: {
        id: waf.id
      }
      associations: [
        {
          domains: [
            {
              id: endpoint.id
            }
          ]
          patternsToMatch: [
            '/*'
          ]
        }
      ]
    }
  }
}

output endpointHostName string = endpoint.properties.hostName
output uri string = 'https://${endpoint.properties.hostName}'
