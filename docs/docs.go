// Package docs holds documents that baton serves as well as shows: the
// OpenAPI description of its HTTP routes, embedded so that the binary
// serves exactly the file in the repository (GET /v1/openapi.yaml) and the
// tests validate against it (internal/openapitest).
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml: the OpenAPI 3.1 description of every route
// baton serves.
//
//go:embed openapi.yaml
var OpenAPI []byte
