// Links the function app as the /api backend of the Static Web App (Standard SKU only),
// after both exist. With the link, the front end calls /api/* on its own origin.

param staticWebAppName string
param backendResourceId string
param backendLocation string

resource staticWebApp 'Microsoft.Web/staticSites@2024-04-01' existing = {
  name: staticWebAppName
}

resource linkedBackend 'Microsoft.Web/staticSites/linkedBackends@2024-04-01' = {
  parent: staticWebApp
  name: 'api'
  properties: {
    backendResourceId: backendResourceId
    region: backendLocation
  }
}

output backendResourceId string = linkedBackend.properties.backendResourceId
