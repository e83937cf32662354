{{/* Names and labels shared by every object of the chart. */}}

{{- define "samu-edge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "samu-edge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "samu-edge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "samu-edge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "samu-edge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "samu-edge.labels" -}}
helm.sh/chart: {{ include "samu-edge.chart" . }}
{{ include "samu-edge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: sip-edge
app.kubernetes.io/part-of: samu-platform
{{- end -}}

{{- define "samu-edge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "samu-edge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image, pinned: a digest wins over a tag; the tag defaults to the appVersion. */}}
{{- define "samu-edge.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "samu-edge.syncImage" -}}
{{- $img := .Values.routingSync.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $img.tag -}}
{{- end -}}
{{- end -}}

{{/* Kamailio's command line: the config's parameters (#!define) set with -A.
     SIP sockets bind the pod's address ($(POD_IP), from the downward API; Kubernetes expands
     it in args): Kamailio writes a socket's own address in Via and Record-Route, and for a
     0.0.0.0 socket that is literally "0.0.0.0" (checked with Kamailio 5.6). So the PBX's
     in-dialog requests (an ARM's BYE, re-INVITEs) come back to this very pod, which holds
     the call's record and the carrier's connection.
     sip.advertise (the SIP edge LB's address) goes on the carrier's socket only: TLS when
     enabled (the LB forwards nothing but 5061/TLS; advertising it on the PBX-facing UDP/TCP
     sockets sent every PBX request to <LB>:5060, lost). Without TLS the carrier shares the
     UDP/TCP sockets with the PBX, so they advertise it (plain-helm LoadBalancer: kube-proxy
     also routes the in-cluster PBX's packets for the LB's address to the Service). */}}
{{- define "samu-edge.kamailioArgs" -}}
{{- $k := .Values.kamailio -}}
{{- $adv := "" -}}
{{- $tlsAdv := "" -}}
{{- with .Values.sip.advertise -}}
{{- if $.Values.sip.tls.enabled -}}
{{- $tlsAdv = printf " advertise %s:%d" . (int $.Values.sip.tls.port) -}}
{{- else -}}
{{- $adv = printf " advertise %s:%d" . (int $.Values.sip.port) -}}
{{- end -}}
{{- end -}}
- -DD
- -E
{{- /* One JSON record a line: nothing a sender writes can start a log line of its own. */}}
- --log-engine=json:M
{{- /* TLSF memory managers (shared and private): O(1) allocation; Kamailio's default (qm)
       spent a third of the edge's CPU per call searching its free lists (perf, 300 calls/s). */}}
- -x
- tlsf
- -X
- tlsf
- -m
- {{ $k.sharedMemoryMB | quote }}
- -M
- {{ $k.privateMemoryMB | quote }}
- -f
- /etc/kamailio/edge/kamailio.cfg
- -A
- {{ printf "EDGE_SIP_LISTEN=udp:$(POD_IP):%d%s" (int .Values.sip.port) $adv | quote }}
- -A
- {{ printf "EDGE_SIP_LISTEN_TCP=tcp:$(POD_IP):%d%s" (int .Values.sip.port) $adv | quote }}
- -A
- {{ printf "EDGE_HTTP_LISTEN=tcp:0.0.0.0:%d" (int .Values.httpPort) | quote }}
- -A
- {{ printf "EDGE_HTTP_PORT=%d" (int .Values.httpPort) | quote }}
- -A
- {{ printf "EDGE_CHILDREN=%d" (int $k.children) | quote }}
- -A
- {{ printf "EDGE_PROBE_INTERVAL=%d" (int $k.probeIntervalSeconds) | quote }}
- -A
- {{ printf "EDGE_PROBE_THRESHOLD=%d" (int $k.probeThreshold) | quote }}
- -A
- {{ printf "EDGE_FR_TIMER=%d" (int $k.firstReplyTimeoutMs) | quote }}
- -A
- {{ printf "EDGE_MAX_FORWARDS=%d" (int $k.maxForwards) | quote }}
- -A
- {{ printf "EDGE_RTPENGINE_SOCK=\"udp:127.0.0.1:%d\"" (int .Values.media.controlPort) | quote }}
- -A
- {{ printf "EDGE_RTPENGINE_TOUT_MS=%d" (int .Values.media.control.timeoutMs) | quote }}
- -A
- {{ printf "EDGE_RTPENGINE_RETR=%d" (int .Values.media.control.retries) | quote }}
- -A
- {{ printf "EDGE_RTPENGINE_DISABLE_S=%d" (int .Values.media.control.disableSeconds) | quote }}
{{- /* The positions' registrar: its bounds, this edge's address for the Path of the phones it
       registers, and the registrations shared with the other edges (DMQ, headless Service). */}}
{{- $reg := .Values.positions.registration }}
- -A
- {{ printf "EDGE_REG_MIN_EXPIRES=%d" (int $reg.minExpiresSeconds) | quote }}
- -A
- {{ printf "EDGE_REG_MAX_EXPIRES=%d" (int $reg.maxExpiresSeconds) | quote }}
- -A
- {{ printf "EDGE_REG_DEFAULT_EXPIRES=%d" (int $reg.defaultExpiresSeconds) | quote }}
- -A
- {{ printf "EDGE_NODE_ADDR=\"$(POD_IP):%d\"" (int .Values.sip.port) | quote }}
- -A
- WITH_DMQ
- -A
- {{ printf "EDGE_DMQ_LISTEN=udp:$(POD_IP):%d" (int .Values.dmq.port) | quote }}
- -A
- {{ printf "EDGE_DMQ_ADDRESS=\"sip:$(POD_IP):%d\"" (int .Values.dmq.port) | quote }}
- -A
- {{ printf "EDGE_DMQ_PEERS=\"sip:%s:%d\"" (include "samu-edge.peersHost" .) (int .Values.dmq.port) | quote }}
- -A
- {{ printf "EDGE_DMQ_PORT=%d" (int .Values.dmq.port) | quote }}
{{- if .Values.sip.tls.enabled }}
- -A
- WITH_TLS
- -A
- {{ printf "EDGE_SIP_LISTEN_TLS=tls:$(POD_IP):%d%s" (int .Values.sip.tls.port) $tlsAdv | quote }}
- -A
- 'EDGE_TLS_CONFIG="/etc/kamailio/edge/tls.cfg"'
{{- end }}
{{- end -}}

{{- define "samu-edge.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "samu-edge.mediaImage" -}}
{{- $img := .Values.media.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $img.tag -}}
{{- end -}}
{{- end -}}

{{- define "samu-edge.shipperImage" -}}
{{- $img := .Values.recordings.shipper.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $img.tag -}}
{{- end -}}
{{- end -}}

{{/* rtpengine's command line. Two logical interfaces that Kamailio's offers name
     (direction=carrier direction=internal): "carrier", the address the carrier's RTP reaches
     (the Multus interface, or the node's address with hostNetwork), and "internal", the pod's
     address the PBX reach. Userspace forwarding (table -1: no kernel module in a container),
     pcap recording into the spool, control on localhost only (Kamailio is in the same pod). */}}
{{- define "samu-edge.rtpengineArgs" -}}
{{- $m := .Values.media -}}
{{- $carrier := ternary $m.network.interface "$(POD_IP)" (eq $m.network.mode "multus") -}}
{{- $adv := ternary (printf "!%s" $m.network.advertise) "" (ne $m.network.advertise "") -}}
{{- if include "samu-edge.mediaFromNode" . }}
{{- /* both interfaces from the file the media-address init container wrote */}}
- --config-file=/run/samu-media/rtpengine.conf
- --foreground
- --log-stderr
- --table=-1
{{- else }}
- --config-file=none
- --foreground
- --log-stderr
- --table=-1
- {{ printf "--interface=carrier/%s%s" $carrier $adv | quote }}
- --interface=internal/$(POD_IP)
{{- end }}
- {{ printf "--listen-ng=127.0.0.1:%d" (int $m.controlPort) | quote }}
- {{ printf "--listen-http=$(POD_IP):%d" (int $m.httpPort) | quote }}
- {{ printf "--port-min=%d" (int $m.rtpPorts.min) | quote }}
- {{ printf "--port-max=%d" (int $m.rtpPorts.max) | quote }}
- --recording-method=pcap
- --recording-dir=/var/spool/rtpengine
- --delete-delay=0
- {{ printf "--timeout=%d" (int $m.mediaTimeoutSeconds) | quote }}
- {{ printf "--num-threads=%d" (int $m.threads) | quote }}
{{- end -}}

{{/* The Secret holding the Record-Route signing key (sip.routeKeySecretName, else the chart's). */}}
{{- define "samu-edge.routeKeySecret" -}}
{{- .Values.sip.routeKeySecretName | default (printf "%s-route-key" (include "samu-edge.fullname" .)) -}}
{{- end }}

{{/*
The headless Service of the edge pods (every edge's address, ready or not): how an edge finds
its DMQ peers. Its full name, as the Kamailio resolver needs it.
*/}}
{{- define "samu-edge.peersHost" -}}
{{- printf "%s-peers.%s.svc.%s" (include "samu-edge.fullname" .) .Release.Namespace .Values.dmq.clusterDomain -}}
{{- end }}

{{/* "true" when rtpengine advertises its node's own media address, read from a node label
     (hostNetwork with media.network.advertiseNodeLabel); empty otherwise. */}}
{{- define "samu-edge.mediaFromNode" -}}
{{- $n := .Values.media.network -}}
{{- if and (eq $n.mode "hostNetwork") $n.advertiseNodeLabel -}}true{{- end -}}
{{- end -}}
