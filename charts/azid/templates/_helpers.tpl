{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "azid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: the release name, with the chart name unless it already holds it. */}}
{{- define "azid.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "azid.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "azid.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "azid.selectorLabels" . }}
app.kubernetes.io/version: {{ include "azid.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: azid
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "azid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "azid.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of the controller's pods. */}}
{{- define "azid.controllerSelectorLabels" -}}
{{ include "azid.selectorLabels" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* Selector of the bundled Redis pod. */}}
{{- define "azid.redisSelectorLabels" -}}
{{ include "azid.selectorLabels" . }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "azid.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "azid.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "azid.redisName" -}}
{{- printf "%s-redis" (include "azid.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "azid.leaderElectionId" -}}
{{- default (include "azid.fullname" .) .Values.controller.leaderElection.id -}}
{{- end -}}

{{/* registry/repository[:tag][@digest], from an image block and a default tag. */}}
{{- define "azid.imageRef" -}}
{{- $image := index . 0 -}}
{{- $tag := index . 1 -}}
{{- $ref := printf "%s/%s" $image.registry $image.repository -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $ref $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (default $tag $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Refuses value combinations that would render a controller that cannot start. */}}
{{- define "azid.validateValues" -}}
{{- $redis := .Values.redis -}}
{{- $sentinel := $redis.external.sentinel.hosts -}}
{{- $cluster := $redis.external.cluster.nodes -}}
{{- $external := or $redis.external.url $redis.external.urlKey $sentinel $cluster -}}
{{- if and $redis.bundled.enabled $external -}}
{{- fail "redis.external is set: also set redis.bundled.enabled=false" -}}
{{- end -}}
{{- if not (or $redis.bundled.enabled $external) -}}
{{- fail "azid needs Redis: set redis.external.url (or redis.external.existingSecret with urlKey), redis.external.sentinel or redis.external.cluster, or redis.bundled.enabled=true for a trial" -}}
{{- end -}}
{{- if gt (len (compact (list (or $redis.external.url $redis.external.urlKey) (join "," $sentinel) (join "," $cluster)))) 1 -}}
{{- fail "set only one of redis.external.url (or urlKey), redis.external.sentinel.hosts and redis.external.cluster.nodes" -}}
{{- end -}}
{{- if and $sentinel (not $redis.external.sentinel.name) -}}
{{- fail "redis.external.sentinel.hosts needs redis.external.sentinel.name, the name the sentinels monitor the primary under" -}}
{{- end -}}
{{- if and $redis.external.sentinel.passwordKey (not $redis.external.existingSecret) -}}
{{- fail "redis.external.sentinel.passwordKey needs redis.external.existingSecret" -}}
{{- end -}}
{{- if and $redis.external.urlKey (not $redis.external.existingSecret) -}}
{{- fail "redis.external.urlKey needs redis.external.existingSecret" -}}
{{- end -}}
{{- if and $redis.external.url $redis.external.urlKey -}}
{{- fail "set either redis.external.url or redis.external.urlKey, not both" -}}
{{- end -}}
{{- if and $redis.external.tls.caSecret $redis.external.url (not (hasPrefix "rediss://" $redis.external.url)) -}}
{{- fail "redis.external.tls.caSecret needs a rediss:// URL" -}}
{{- end -}}
{{- if and $redis.external.tls.enabled (or $redis.external.url $redis.external.urlKey) -}}
{{- fail "redis.external.tls.enabled is for Sentinel and Cluster; a URL asks for TLS with rediss://" -}}
{{- end -}}
{{- if and .Values.azure.credentialsFile.content .Values.azure.credentialsFile.existingSecret -}}
{{- fail "set either azure.credentialsFile.content or azure.credentialsFile.existingSecret, not both" -}}
{{- end -}}
{{- end -}}

{{/* Whether the controller is given a credentials file. */}}
{{- define "azid.hasCredentialsFile" -}}
{{- if or .Values.azure.credentialsFile.content .Values.azure.credentialsFile.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "azid.credentialsMountPath" -}}/etc/azid/credentials{{- end -}}
