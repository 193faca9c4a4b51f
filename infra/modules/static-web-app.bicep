// Azure Static Web Apps for the front end (web/).
//
// The front end calls the function app's API. Two ways, by SKU:
//   Free      the page calls the function app URL directly (FUNCTION_APP_URL output);
//             the SWA origin is allowed by CORS on the function app and on blob storage;
//   Standard  the function app can also be linked as the SWA backend so /api/* is served
//             from the SWA origin (static-web-app-backend.bicep, linkStaticWebAppBackend).
// The SWA is created first (its hostname feeds the CORS rules), the link after the
// function app exists.

param location string
param tags object
param name string

@allowed([
  'Free'
  'Standard'
])
param skuName string = 'Free'

resource staticWebApp 'Microsoft.Web/staticSites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'web'
  })
  sku: {
    name: skuName
    tier: skuName
  }
  properties: {
    provider: 'Custom'
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Enabled'
  }
}

output id string = staticWebApp.id
output name string = staticWebApp.name
output defaultHostName string = staticWebApp.properties.defaultHostname
output uri string = 'https://${staticWebApp.properties.defaultHostname}'
