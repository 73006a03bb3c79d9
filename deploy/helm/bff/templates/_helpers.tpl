{{/*
Names and labels.
*/}}
{{- define "bff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bff.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "bff.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every object; the component label is added per object. */}}
{{- define "bff.commonLabels" -}}
helm.sh/chart: {{ include "bff.chart" . }}
app.kubernetes.io/name: {{ include "bff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "bff.name" . }}
{{- end }}

{{/* The gateway pods' selector. The component keeps the `helm test` pod out of it (and out of the NetworkPolicy). */}}
{{- define "bff.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "bff.labels" -}}
{{ include "bff.commonLabels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "bff.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "bff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{- define "bff.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bff.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "bff.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Settings that cannot work are refused here, before anything reaches a cluster. Included by the Deployment.
*/}}
{{- define "bff.validate" -}}
{{- $bff := .Values.bff }}
{{- $auth := $bff.clientAuthentication }}
{{- if include "bff.usesSecret" . }}
{{- if not $bff.existingSecret }}
{{- fail "bff.existingSecret is empty: the gateway needs its OIDC client secret (Bff__ClientSecret) from a Secret you create. Set bff.existingSecret (and bff.existingSecretKeys.clientSecret); secrets are never taken from values." }}
{{- end }}
{{- if not $bff.existingSecretKeys.clientSecret }}
{{- fail "bff.existingSecretKeys.clientSecret is empty: name the key of bff.existingSecret that holds the OIDC client secret." }}
{{- end }}
{{- end }}
{{- if and (eq $auth.method "PrivateKeyJwt") (empty $auth.keys) }}
{{- fail "bff.clientAuthentication.method=PrivateKeyJwt needs bff.clientAuthentication.keys: at least one key of bff.clientAuthentication.existingSecret holding the signing key (PEM or PKCS#12)." }}
{{- end }}
{{- if and $auth.publishJwks (empty $auth.keys) }}
{{- fail "bff.clientAuthentication.publishJwks=true needs bff.clientAuthentication.keys: there is nothing to publish." }}
{{- end }}
{{- if and (include "bff.usesCertificate" .) (not $auth.certificate.certificateKey) }}
{{- fail (printf "bff.clientAuthentication.method=%s needs bff.clientAuthentication.certificate.certificateKey: the key of bff.clientAuthentication.existingSecret holding the TLS client certificate." $auth.method) }}
{{- end }}
{{- if and (include "bff.clientAuthMounted" .) (not $auth.existingSecret) }}
{{- fail (printf "bff.clientAuthentication.method=%s needs bff.clientAuthentication.existingSecret: a Secret you create holding the key or certificate; it is mounted read-only, never taken from values." $auth.method) }}
{{- end }}
{{- $maxReplicas := int .Values.replicaCount }}
{{- if .Values.autoscaling.enabled }}
{{- $maxReplicas = int .Values.autoscaling.maxReplicas }}
{{- end }}
{{- if and (eq $bff.session.store "InMemory") (gt $maxReplicas 1) }}
{{- fail (printf "bff.session.store=InMemory keeps sessions in one pod's memory, so it cannot run %d replicas (replicaCount, or autoscaling.maxReplicas when autoscaling is enabled): users would be logged out whenever a request reaches another pod. Use bff.session.store=Redis with bff.redis.existingSecret, or a single replica." $maxReplicas) }}
{{- end }}
{{- if eq $bff.session.store "Redis" }}
{{- if or (not $bff.redis.existingSecret) (not $bff.redis.existingSecretKey) }}
{{- fail "bff.session.store=Redis needs the Redis connection string from a Secret: set bff.redis.existingSecret (and bff.redis.existingSecretKey) to a Secret key holding the StackExchange.Redis configuration, e.g. redis:6379,password=...,ssl=true." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.egress.redis) }}
{{- fail "bff.session.store=Redis with networkPolicy.enabled needs networkPolicy.egress.redis (a rule naming the Redis pods or CIDR and port), or the gateway cannot reach Redis." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (eq (default "Standalone" $bff.redis.topology) "Sentinel") }}
{{- /* Sentinel: the gateway asks the Sentinels (26379 by default) for the primary, then talks to it (6379): both must be allowed. A rule without ports allows every port. */}}
{{- $anyPort := false }}
{{- $sentinelPort := false }}
{{- $dataPort := false }}
{{- range .Values.networkPolicy.egress.redis }}
{{- if not .ports }}
{{- $anyPort = true }}
{{- end }}
{{- range .ports }}
{{- if eq (toString .port) "26379" }}
{{- $sentinelPort = true }}
{{- else }}
{{- $dataPort = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if not (or $anyPort (and $sentinelPort $dataPort)) }}
{{- fail "bff.redis.topology=Sentinel with networkPolicy.enabled needs networkPolicy.egress.redis to allow both the Sentinels' port (26379) and the port of the Redis pods they name (6379), or the gateway cannot find or reach the primary." }}
{{- end }}
{{- end }}
{{- else if ne (default "Standalone" $bff.redis.topology) "Standalone" }}
{{- fail (printf "bff.redis.topology=%s applies to the Redis session store only: set bff.session.store=Redis (with bff.redis.existingSecret), or leave bff.redis.topology at Standalone." $bff.redis.topology) }}
{{- end }}
{{- $origin := include "bff.publicOrigin" . }}
{{- if not $origin }}
{{- fail "bff.publicOrigin is empty and there is no ingress to take it from: set it to the origin browsers use, e.g. https://app.example.com. The gateway refuses to start without Bff__PublicOrigin outside Development." }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- $originHost := (regexReplaceAll ":[0-9]+$" (urlParse $origin).host "") | lower }}
{{- $ingressHosts := list }}
{{- range .Values.ingress.hosts }}{{- $ingressHosts = append $ingressHosts (lower .host) }}{{- end }}
{{- if not (has $originHost $ingressHosts) }}
{{- fail (printf "bff.publicOrigin %s names host %s, which the ingress does not serve (%s): the gateway would answer every request through the ingress with 400 invalid_host. Set bff.publicOrigin to the ingress host browsers use, or to an empty string to take it from the ingress." $origin $originHost (join ", " $ingressHosts)) }}
{{- end }}
{{- end }}
{{- range $bff.forwardedHeaders.knownNetworks }}
{{- if hasSuffix "/0" . }}
{{- fail (printf "bff.forwardedHeaders.knownNetworks contains %s, which trusts every address: any client could set X-Forwarded-For/-Proto/-Host. List the ingress controller's pod network (e.g. 10.244.0.0/16)." .) }}
{{- end }}
{{- end }}
{{- if and (hasPrefix "http://" (lower $bff.authority)) $bff.requireHttpsMetadata }}
{{- fail "bff.authority uses http:// while bff.requireHttpsMetadata is true: the gateway refuses this outside Development. Use an https authority, or set bff.requireHttpsMetadata=false explicitly." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.egress.provider) }}
{{- fail "networkPolicy.enabled needs networkPolicy.egress.provider (the OpenID provider's CIDR and port), or the gateway cannot reach bff.authority." }}
{{- end }}
{{- range $category := list "dns" "provider" "apis" "redis" "otel" }}
{{- range $i, $rule := index $.Values.networkPolicy.egress $category }}
{{- if empty $rule.to }}
{{- fail (printf "networkPolicy.egress.%s[%d] has no `to`: a rule without destinations would allow every destination. Name the peers (ipBlock, namespaceSelector, podSelector)." $category $i) }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.admin.enabled }}
{{- if not .Values.admin.audience }}
{{- fail "admin.enabled needs admin.audience: the aud of the access tokens the admin API's callers present (Bff__Admin__Audience)." }}
{{- end }}
{{- if eq .Values.admin.audience $bff.clientId }}
{{- fail "admin.audience must not be bff.clientId: every user's ID token is issued for the client id. Register an audience of its own for the admin API." }}
{{- end }}
{{- if and (not .Values.admin.role) (not .Values.admin.scope) }}
{{- fail "admin.enabled needs admin.role or admin.scope: the role or scope a caller's token must carry." }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.admin.allowFrom) }}
{{- fail "admin.enabled with networkPolicy.enabled needs admin.allowFrom (NetworkPolicyPeers, e.g. the operations namespace): an empty list would let any pod reach the admin API." }}
{{- end }}
{{- end }}
{{- range $routeId, $route := .Values.routes }}
{{- $clusterId := "" }}
{{- range $k, $v := $route }}{{- if eq (lower $k) "clusterid" }}{{- $clusterId = $v }}{{- end }}{{- end }}
{{- $known := false }}
{{- range $k, $_ := $.Values.clusters }}{{- if eq (lower $k) (lower (toString $clusterId)) }}{{- $known = true }}{{- end }}{{- end }}
{{- if and $clusterId (not $known) }}
{{- fail (printf "routes.%s points to cluster %q, which is not under clusters." $routeId $clusterId) }}
{{- end }}
{{- end }}
{{- range $key, $_ := include "bff.settings" . | fromJson }}
{{- if not (regexMatch "^[-._a-zA-Z][-._a-zA-Z0-9]*$" $key) }}
{{- fail (printf "configuration key %q cannot be an environment variable name: route, cluster and destination ids may only use letters, digits, '-', '_' and '.'." $key) }}
{{- end }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if and (hasKey . "value") (regexMatch "(?i)(secret|password|passwd|redis__configuration|connectionstring|apikey|api_key)" .name) }}
{{- fail (printf "extraEnv %s has a literal value: secrets are never taken from values. Use valueFrom.secretKeyRef." .name) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The gateway's public origin: bff.publicOrigin, or else the ingress's single host, https when ingress.tls lists it.
Empty when neither says (refused by bff.validate).
*/}}
{{- define "bff.publicOrigin" -}}
{{- $origin := trimSuffix "/" (default "" .Values.bff.publicOrigin) }}
{{- if and (not $origin) .Values.ingress.enabled }}
{{- if ne (len .Values.ingress.hosts) 1 }}
{{- fail (printf "bff.publicOrigin is empty and the ingress has %d hosts: the gateway answers one origin, so set bff.publicOrigin to the one browsers use (redirect the others at the ingress)." (len .Values.ingress.hosts)) }}
{{- end }}
{{- $host := (index .Values.ingress.hosts 0).host }}
{{- if or (not $host) (contains "*" $host) }}
{{- fail (printf "bff.publicOrigin is empty and the ingress host %q is not one name: set bff.publicOrigin to the origin browsers use." $host) }}
{{- end }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{- if has $host .hosts }}{{- $tls = true }}{{- end }}{{- end }}
{{- if not $tls }}
{{- fail (printf "bff.publicOrigin is empty and ingress.tls does not list %s, so the chart cannot tell whether browsers use https: set bff.publicOrigin (e.g. https://%s when TLS ends in front of the ingress)." $host $host) }}
{{- end }}
{{- $origin = printf "https://%s" $host }}
{{- end }}
{{- $origin }}
{{- end }}

{{/*
Flattens a value into configuration keys joined by "__" (ASP.NET Core's environment variable form).
Call with (dict "out" $map "prefix" "Section" "value" $value); $map receives the keys.
*/}}
{{- define "bff.flatten" -}}
{{- $out := .out }}
{{- $prefix := .prefix }}
{{- if kindIs "map" .value }}
{{- range $k, $v := .value }}
{{- include "bff.flatten" (dict "out" $out "prefix" (printf "%s__%s" $prefix $k) "value" $v) }}
{{- end }}
{{- else if kindIs "slice" .value }}
{{- range $i, $v := .value }}
{{- include "bff.flatten" (dict "out" $out "prefix" (printf "%s__%d" $prefix $i) "value" $v) }}
{{- end }}
{{- else if kindIs "invalid" .value }}
{{- /* null: leave the key to the gateway's default */}}
{{- else if and (kindIs "float64" .value) (eq .value (floor .value)) }}
{{- $_ := set $out $prefix (toString (int64 .value)) }}
{{- else }}
{{- $_ := set $out $prefix (toString .value) }}
{{- end }}
{{- end }}

{{/*
The gateway's non-secret configuration, as environment variables (names from the configuration contract).
Returns JSON so callers can render it and checksum it.
*/}}
{{- define "bff.settings" -}}
{{- $bff := .Values.bff }}
{{- $out := dict }}
{{- $section := dict
  "Authority" $bff.authority
  "PublicOrigin" (include "bff.publicOrigin" .)
  "ClientId" $bff.clientId
  "Scopes" $bff.scopes
  "RequireHttpsMetadata" $bff.requireHttpsMetadata
  "CallbackPath" $bff.callbackPath
  "SignedOutCallbackPath" $bff.signedOutCallbackPath
  "Session" (dict "Store" $bff.session.store "IdleTimeout" $bff.session.idleTimeout "AbsoluteTimeout" $bff.session.absoluteTimeout)
  "Cookie" (dict "Name" $bff.cookie.name "SameSite" $bff.cookie.sameSite)
  "Tokens" (dict "RefreshBeforeExpiry" $bff.tokens.refreshBeforeExpiry)
  "ForwardedHeaders" (dict "KnownProxies" $bff.forwardedHeaders.knownProxies "KnownNetworks" $bff.forwardedHeaders.knownNetworks)
}}
{{- if $bff.spa.rootPath }}
{{- $_ := set $section "Spa" (dict "RootPath" $bff.spa.rootPath) }}
{{- end }}
{{- if .Values.admin.enabled }}
{{- $admin := .Values.admin }}
{{- $_ := set $section "Admin" (dict "Enabled" true "Port" (int $admin.port) "Audience" $admin.audience "Role" $admin.role "Scope" $admin.scope) }}
{{- end }}
{{- $auth := $bff.clientAuthentication }}
{{- $clientAuthentication := dict "Method" $auth.method "Audience" $auth.audience "AssertionHeaderType" $auth.assertionHeaderType "PublishJwks" $auth.publishJwks }}
{{- $keys := list }}
{{- range $auth.keys }}
{{- $keys = append $keys (dict "Path" (printf "%s/%s" (include "bff.clientAuthDir" $) .key) "KeyId" (default "" .keyId)) }}
{{- end }}
{{- if $keys }}
{{- $_ := set $clientAuthentication "Keys" $keys }}
{{- end }}
{{- if include "bff.usesCertificate" . }}
{{- $certificate := dict "Path" (printf "%s/%s" (include "bff.clientAuthDir" .) $auth.certificate.certificateKey) }}
{{- if $auth.certificate.privateKeyKey }}
{{- $_ := set $certificate "KeyPath" (printf "%s/%s" (include "bff.clientAuthDir" .) $auth.certificate.privateKeyKey) }}
{{- end }}
{{- $_ := set $clientAuthentication "Certificate" $certificate }}
{{- end }}
{{- $_ := set $section "ClientAuthentication" $clientAuthentication }}
{{- include "bff.flatten" (dict "out" $out "prefix" "Bff" "value" $section) }}
{{- include "bff.flatten" (dict "out" $out "prefix" "ReverseProxy" "value" (dict "Routes" .Values.routes "Clusters" .Values.clusters)) }}
{{- $_ := set $out "OTEL_SERVICE_NAME" (default (include "bff.fullname" .) .Values.otel.serviceName) }}
{{- if .Values.otel.endpoint }}
{{- $_ := set $out "OTEL_EXPORTER_OTLP_ENDPOINT" .Values.otel.endpoint }}
{{- $_ := set $out "OTEL_EXPORTER_OTLP_PROTOCOL" .Values.otel.protocol }}
{{- end }}
{{- /* Empty strings would override the gateway's defaults with nothing: leave those keys out. */}}
{{- range $k, $v := $out }}
{{- if eq $v "" }}{{- $_ := unset $out $k }}{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* Whether the client authenticates with Bff__ClientSecret. */}}
{{- define "bff.usesSecret" -}}
{{- if has .Values.bff.clientAuthentication.method (list "ClientSecretBasic" "ClientSecretPost") }}true{{- end }}
{{- end }}

{{/* Whether the client presents a TLS client certificate. */}}
{{- define "bff.usesCertificate" -}}
{{- if has .Values.bff.clientAuthentication.method (list "TlsClientAuth" "SelfSignedTlsClientAuth") }}true{{- end }}
{{- end }}

{{/* Whether the client-authentication Secret is mounted: keys to sign or publish, or a certificate. */}}
{{- define "bff.clientAuthMounted" -}}
{{- if or .Values.bff.clientAuthentication.keys (include "bff.usesCertificate" .) }}true{{- end }}
{{- end }}

{{/* Where the client-authentication Secret is mounted (read-only). */}}
{{- define "bff.clientAuthDir" -}}
/var/run/secrets/bff/client-auth
{{- end }}
