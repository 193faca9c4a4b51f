// API Management in front of the function app (the product brief's gateway).
//
// Imports the API from infra/openapi.json, the document the app serves at /api/openapi.json
// (tests/test_openapi.py keeps the copy identical; regenerate it with
// `python -m blueprints.openapi > infra/openapi.json`). At the gateway, before the app:
//   - validate-jwt: a request without a valid token from the same issuer and audience the
//     app checks never reaches the app (the app checks again: defence in depth, and the
//     app stays safe if it is reached directly);
//   - rate-limit-by-key per organisation and user (the token's tid/oid), in the tiers that
//     have it (every tier but Consumption: Microsoft's policy reference, "rate-limit-by-key",
//     APPLIES TO Developer, Basic, Basic v2, Standard, Standard v2, Premium). On Consumption
//     the app's own limits (per user and per organisation, Redis-backed) are the limit;
//   - X-Tenant-Id removed (the app ignores it anyway) and security headers on every answer.
// /api/health and /api/openapi.json are public: their operation policies skip the JWT check.

param location string
param tags object
param name string

@description('Consumption by default (pay per call, no fixed cost). rate-limit-by-key is applied in every other tier.')
@allowed([
  'Consumption'
  'Developer'
  'Basic'
  'BasicV2'
  'Standard'
  'StandardV2'
  'Premium'
])
param skuName string = 'Consumption'

param publisherEmail string
param publisherName string

@description('The function app host name (func-api-….azurewebsites.net): the backend.')
param functionAppHostName string

@description('AUTH_ISSUER of the app, e.g. https://login.microsoftonline.com/{tenant-id}/v2.0')
param authIssuer string

@description('AUTH_AUDIENCE of the app (its application ID URI or client id).')
param authAudience string

@description('Claims naming the organisation and the user (AUTH_TENANT_CLAIM, AUTH_USER_CLAIM).')
param tenantClaim string = 'tid'
param userClaim string = 'oid'

@description('Requests per caller (organisation + user) per renewal period at the gateway, where the tier allows it.')
param callsPerCaller int = 120
param renewalPeriodSeconds int = 60

@description('Path of the API on the gateway: https://{name}.azure-api.net/{apiPath}/api/v1/…')
param apiPath string = 'classroom'

var isConsumption = skuName == 'Consumption'
// A multi-tenant Entra app: AUTH_ISSUER holds {tenantid}; discovery is under "organizations" and
// the per-directory issuer is checked by the app (it matches each token's iss to its tid).
var perTenantIssuer = contains(authIssuer, '{tenantid}')
var discoveryUrl = '${replace(authIssuer, '{tenantid}', 'organizations')}/.well-known/openid-configuration'
var issuersElement = perTenantIssuer ? '' : '<issuers><issuer>${authIssuer}</issuer></issuers>'
var jwtClaim = '((Jwt)context.Variables[&quot;jwt&quot;]).Claims.GetValueOrDefault'
var callerKey = '@(${jwtClaim}(&quot;${tenantClaim}&quot;, &quot;-&quot;) + &quot;/&quot; + ${jwtClaim}(&quot;${userClaim}&quot;, &quot;-&quot;))'
var keyedLimit = isConsumption ? '' : '<rate-limit-by-key calls="${callsPerCaller}" renewal-period="${renewalPeriodSeconds}" counter-key="${callerKey}" />'
var securityHeaders = '<set-header name="X-Content-Type-Options" exists-action="override"><value>nosniff</value></set-header><set-header name="X-Frame-Options" exists-action="override"><value>DENY</value></set-header>'

var apiPolicy = '''<policies>
  <inbound>
    <base />
    <set-header name="X-Tenant-Id" exists-action="delete" />
    <validate-jwt header-name="Authorization" require-scheme="Bearer" failed-validation-httpcode="401" failed-validation-error-message="sign in: a valid bearer token is required" require-expiration-time="true" require-signed-tokens="true" clock-skew="60" output-token-variable-name="jwt">
      <openid-config url="DISCOVERY_URL" />
      <audiences><audience>AUDIENCE</audience></audiences>
      ISSUERS
    </validate-jwt>
    KEYED_LIMIT
  </inbound>
  <backend><base /></backend>
  <outbound><base />SECURITY_HEADERS</outbound>
  <on-error><base />SECURITY_HEADERS</on-error>
</policies>'''

// Public operations: no <base /> in inbound, so the API's JWT check does not run for them.
var publicOperationPolicy = '''<policies>
  <inbound><set-header name="X-Tenant-Id" exists-action="delete" /></inbound>
  <backend><base /></backend>
  <outbound><base /></outbound>
  <on-error><base /></on-error>
</policies>'''

resource service 'Microsoft.ApiManagement/service@2024-05-01' = {
  // checkov:skip=CKV_AZURE_107: the Consumption tier has no virtual network integration; the gateway is the public entry point by design (Premium/v2 tiers: add virtualNetworkConfiguration)
  // checkov:skip=CKV_AZURE_174: the gateway is the API's public front door; callers are authenticated by validate-jwt and again by the app
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    capacity: isConsumption ? 0 : 1
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: service
  name: 'classroom-video'
  properties: {
    displayName: 'Classroom video analysis API'
    path: apiPath
    protocols: [
      'https'
    ]
    serviceUrl: 'https://${functionAppHostName}'
    // The bearer token is the credential; no API Management subscription key on top.
    subscriptionRequired: false
    format: 'openapi+json'
    value: loadTextContent('../openapi.json')
  }
}

resource apiPolicyResource 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: replace(replace(replace(replace(replace(apiPolicy, 'DISCOVERY_URL', discoveryUrl), 'ISSUERS', issuersElement), 'AUDIENCE', authAudience), 'KEYED_LIMIT', keyedLimit), 'SECURITY_HEADERS', securityHeaders)
  }
}

// Operation names are the document's operationIds.
resource healthPolicy 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = {
  name: '${service.name}/${api.name}/health/policy'
  properties: {
    format: 'rawxml'
    value: publicOperationPolicy
  }
}

resource openapiPolicy 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = {
  name: '${service.name}/${api.name}/openapi/policy'
  properties: {
    format: 'rawxml'
    value: publicOperationPolicy
  }
}

output name string = service.name
output gatewayUrl string = service.properties.gatewayUrl
output apiUrl string = '${service.properties.gatewayUrl}/${apiPath}'
output gatewayRateLimitByKey bool = !isConsumption
