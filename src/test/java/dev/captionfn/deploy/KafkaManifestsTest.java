package dev.captionfn.deploy;

import static dev.captionfn.deploy.Manifests.containers;
import static dev.captionfn.deploy.Manifests.env;
import static dev.captionfn.deploy.Manifests.envName;
import static dev.captionfn.deploy.Manifests.isBlank;
import static dev.captionfn.deploy.Manifests.isCaptionfnImage;
import static dev.captionfn.deploy.Manifests.podSpec;
import static dev.captionfn.deploy.Manifests.text;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.captionfn.config.CaptionfnConfig;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.config.ConfigMappings;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * The Kafka deployment under deploy/kafka agrees with the code it deploys: a Strimzi KafkaTopic
 * exists for each topic captionfn is configured with, the Deployment turns the stream processor on
 * and points it at the cluster that holds those topics, its model volume, probes and shutdown fit
 * the application, and the KEDA ScaledObject watches the lag of the consumer group and topic the
 * application really uses, never scaling past the request topic's partitions. Like
 * KnativeManifestsTest it needs no cluster: the YAML is read as data and compared with the
 * configuration and with this application, started by @QuarkusTest. Kafka is off in tests; the
 * captionfn.kafka values are read all the same.
 */
@QuarkusTest
class KafkaManifestsTest {
    private static final Path KAFKA_DIR = Path.of("deploy", "kafka");
    private static final Path KNATIVE_DIR = Path.of("deploy", "knative");
    private static final Path DOCKERFILE = Path.of("deploy", "docker", "Dockerfile.jvm");
    private static final String DEPLOYMENT = "apps/v1/Deployment";
    private static final String KAFKA_TOPIC = "kafka.strimzi.io/v1beta2/KafkaTopic";
    private static final String SCALED_OBJECT = "keda.sh/v1alpha1/ScaledObject";
    private static final String PVC = "v1/PersistentVolumeClaim";
    private static final String STRIMZI_CLUSTER_LABEL = "strimzi.io/cluster";
    /** The SmallRye channels of KafkaCaptioner, as application.properties configures them. */
    private static final String REQUEST_CHANNEL = "mp.messaging.incoming.caption-requests.";
    private static final String RESULT_CHANNEL = "mp.messaging.outgoing.captions.";
    private static final int HTTP_PORT = 8080;
    /** The longest shutdown the deployment must allow for, whatever the configuration says. */
    private static final long MIN_GRACE_SECONDS = 300;

    private static final Manifests MANIFESTS = Manifests.load(KAFKA_DIR);

    @Inject
    CaptionfnConfig config;

    // ---- helpers ----

    /** A setting as the container sees it: its environment variable if it sets one, else the configuration's value. */
    private static String effective(JsonNode container, String property, Object configured) {
        String fromEnv = env(container).get(envName(property));
        return fromEnv != null ? fromEnv.trim() : configured == null ? null : configured.toString();
    }

    private static String configured(String property) {
        return ConfigProvider.getConfig().getOptionalValue(property, String.class).orElse(null);
    }

    /** The Deployments that run captionfn (their container's image is captionfn's), each with that container. */
    private static Map<Manifest, JsonNode> processors() {
        Map<Manifest, JsonNode> processors = new LinkedHashMap<>();
        for (Manifest deployment : MANIFESTS.ofType(DEPLOYMENT)) {
            for (JsonNode container : containers(deployment)) {
                if (isCaptionfnImage(text(container, "image"))) {
                    processors.put(deployment, container);
                }
            }
        }
        assertFalse(processors.isEmpty(), "no Deployment under " + KAFKA_DIR + " runs a captionfn image");
        return processors;
    }

    private static List<Manifest> topics() {
        List<Manifest> topics = MANIFESTS.ofType(KAFKA_TOPIC);
        assertFalse(topics.isEmpty(), "no " + KAFKA_TOPIC + " under " + KAFKA_DIR);
        return topics;
    }

    /** The Kafka topic a KafkaTopic creates: spec.topicName, else its metadata.name. */
    private static String topicName(Manifest topic) {
        return Optional.ofNullable(text(topic.node().path("spec"), "topicName")).orElse(topic.name());
    }

    private static Optional<Manifest> topicNamed(String name) {
        return topics().stream().filter(t -> name.equals(topicName(t))).findFirst();
    }

    private static List<Manifest> scaledObjects() {
        List<Manifest> scaledObjects = MANIFESTS.ofType(SCALED_OBJECT);
        assertFalse(scaledObjects.isEmpty(), "no " + SCALED_OBJECT + " under " + KAFKA_DIR);
        return scaledObjects;
    }

    private static List<JsonNode> kafkaTriggers(Manifest scaledObject) {
        List<JsonNode> triggers = new ArrayList<>();
        scaledObject.node().path("spec").path("triggers").forEach(t -> {
            if ("kafka".equals(text(t, "type"))) {
                triggers.add(t.path("metadata"));
            }
        });
        assertFalse(triggers.isEmpty(), scaledObject + ": no trigger of type kafka");
        return triggers;
    }

    /** The processor Deployment a ScaledObject scales, and its captionfn container. */
    private static Map.Entry<Manifest, JsonNode> target(Manifest scaledObject) {
        JsonNode ref = scaledObject.node().path("spec").path("scaleTargetRef");
        // KEDA's defaults for an omitted apiVersion and kind
        String type = Optional.ofNullable(text(ref, "apiVersion")).orElse("apps/v1") + "/"
                + Optional.ofNullable(text(ref, "kind")).orElse("Deployment");
        assertEquals(DEPLOYMENT, type, scaledObject + ": scaleTargetRef must be the captionfn Deployment");
        return processors().entrySet().stream()
                .filter(e -> e.getKey().name().equals(text(ref, "name")) && e.getKey().namespace().equals(scaledObject.namespace()))
                .findFirst()
                .orElseThrow(() -> new AssertionError(scaledObject + ": scaleTargetRef names " + text(ref, "name")
                        + ", no captionfn Deployment in namespace " + scaledObject.namespace()));
    }

    // ---- the file set ----

    @Test
    void deployKafkaHoldsYamlManifests() {
        assertTrue(Files.isDirectory(KAFKA_DIR), KAFKA_DIR.toAbsolutePath() + " is missing (tests run from the project root)");
        assertFalse(MANIFESTS.files().isEmpty(), "no *.yaml or *.yml file under " + KAFKA_DIR);
        assertFalse(MANIFESTS.all().isEmpty(), "the YAML files under " + KAFKA_DIR + " hold no document");
    }

    @Test
    void everyDocumentParsesAndHasApiVersionKindAndName() {
        List<String> problems = MANIFESTS.problems();
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void claimsAndScaleTargetsNameObjectsDefinedAlongside() {
        Set<String> defined = MANIFESTS.all().stream().map(Manifest::key).collect(Collectors.toSet());
        List<String> dangling = new ArrayList<>();
        for (Manifest deployment : MANIFESTS.ofType(DEPLOYMENT)) {
            for (JsonNode volume : podSpec(deployment).path("volumes")) {
                String claim = text(volume.path("persistentVolumeClaim"), "claimName");
                if (claim != null && !defined.contains(PVC + " " + deployment.namespace() + "/" + claim)) {
                    dangling.add(deployment + " mounts the claim " + claim + ", which no manifest under " + KAFKA_DIR + " defines");
                }
            }
        }
        for (Manifest scaledObject : scaledObjects()) {
            target(scaledObject); // fails with the reason when it names nothing here
        }
        assertTrue(dangling.isEmpty(), String.join("\n", dangling));
    }

    @Test
    void objectsAlsoDefinedUnderDeployKnativeAreIdenticalSoApplyingBothChangesNothing() {
        Map<String, Manifest> knative = new LinkedHashMap<>();
        Manifests.load(KNATIVE_DIR).all().forEach(m -> knative.put(m.key(), m));
        for (Manifest m : MANIFESTS.all()) {
            Manifest twin = knative.get(m.key());
            if (twin != null) {
                // applying one directory after the other would otherwise flip the object back and forth
                // (and a bound claim's spec cannot change at all)
                assertEquals(twin.node(), m.node(), m + " differs from " + twin + ", which defines the same object");
            }
        }
    }

    // ---- topics ----

    @Test
    void everyConfiguredTopicHasAStrimziKafkaTopic() {
        var kafka = config.kafka();
        for (var processor : processors().entrySet()) {
            JsonNode container = processor.getValue();
            Map<String, String> topics = new LinkedHashMap<>();
            topics.put("captionfn.kafka.request-topic", effective(container, "captionfn.kafka.request-topic", kafka.requestTopic()));
            topics.put("captionfn.kafka.result-topic", effective(container, "captionfn.kafka.result-topic", kafka.resultTopic()));
            topics.put("captionfn.kafka.dead-letter-topic",
                    effective(container, "captionfn.kafka.dead-letter-topic", kafka.deadLetterTopic()));
            assertEquals(3, Set.copyOf(topics.values()).size(), processor.getKey() + ": the three topics must differ: " + topics);
            for (var topic : topics.entrySet()) {
                Manifest kafkaTopic = topicNamed(topic.getValue()).orElseThrow(() -> new AssertionError(
                        "no KafkaTopic under " + KAFKA_DIR + " creates " + topic.getKey() + " = " + topic.getValue()
                                + " (spec.topicName or metadata.name)"));
                assertFalse(isBlank(text(kafkaTopic.node().path("metadata").path("labels"), STRIMZI_CLUSTER_LABEL)),
                        kafkaTopic + ": the Topic Operator only handles a KafkaTopic labelled " + STRIMZI_CLUSTER_LABEL);
                assertTrue(kafkaTopic.node().path("spec").path("partitions").asInt(0) > 0, kafkaTopic + ": set spec.partitions");
            }
        }
    }

    @Test
    void acknowledgedResultsAreOnTwoBrokersAndTopicsStayWritableWithOneBrokerDown() {
        // results and dead letters are written with acks=all, and the request's offset is committed
        // after: min.insync.replicas decides how many copies that acknowledgement stands for
        String acks = Optional.ofNullable(configured(RESULT_CHANNEL + "acks")).orElse("all");
        assertTrue(acks.equals("all") || acks.equals("-1"), RESULT_CHANNEL + "acks is " + acks + ", the deployment assumes all");
        for (Manifest topic : topics()) {
            JsonNode spec = topic.node().path("spec");
            int replicas = spec.path("replicas").asInt(0);
            int minInSync = spec.path("config").path("min.insync.replicas").asInt(1);
            assertTrue(replicas >= 3, topic + ": replicas " + replicas + ", 3 or more so that a broker can be lost");
            assertTrue(minInSync >= 2, topic + ": min.insync.replicas " + minInSync + " lets acks=all mean a single copy");
            assertTrue(minInSync < replicas, topic + ": min.insync.replicas " + minInSync + " of " + replicas
                    + " replicas stops every write while one broker restarts");
        }
    }

    @Test
    void processorConsumesFromTheStrimziClusterThatHoldsTheTopics() {
        Set<String> clusters = topics().stream()
                .map(t -> text(t.node().path("metadata").path("labels"), STRIMZI_CLUSTER_LABEL) + "@" + t.namespace())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(1, clusters.size(), "all KafkaTopics must belong to one cluster (label@namespace): " + clusters);
        String[] cluster = clusters.iterator().next().split("@");
        // Strimzi's bootstrap Service of cluster C in namespace N: C-kafka-bootstrap[.N[.svc[.cluster.local]]]:port
        Pattern bootstrap = Pattern.compile(Pattern.quote(cluster[0] + "-kafka-bootstrap") + "(?:\\.([a-z0-9-]+)(?:\\.svc(?:\\..+)?)?)?:\\d+");
        for (var processor : processors().entrySet()) {
            Map<String, String> env = env(processor.getValue());
            assertEquals("true", env.get("CAPTIONFN_KAFKA_ENABLED"), processor.getKey()
                    + ": CAPTIONFN_KAFKA_ENABLED must be \"true\", else the function serves HTTP only and consumes nothing");
            String servers = env.get("KAFKA_BOOTSTRAP_SERVERS");
            assertFalse(isBlank(servers), processor.getKey() + ": set KAFKA_BOOTSTRAP_SERVERS (kafka.bootstrap.servers)");
            for (String server : servers.split(",")) {
                Matcher m = bootstrap.matcher(server.trim());
                assertTrue(m.matches(), processor.getKey() + ": KAFKA_BOOTSTRAP_SERVERS " + server + " is not the bootstrap Service of "
                        + "the Strimzi cluster " + cluster[0] + " that the KafkaTopics belong to (" + cluster[0] + "-kafka-bootstrap."
                        + cluster[1] + ".svc:9092)");
                String namespace = m.group(1) != null ? m.group(1) : processor.getKey().namespace();
                assertEquals(cluster[1], namespace, processor.getKey() + ": the bootstrap Service must be in the KafkaTopics' namespace");
            }
        }
    }

    // ---- the processor Deployment ----

    @Test
    void captionfnEnvironmentVariablesNameConfigurationKeysThatExist() {
        Set<String> keys = ConfigMappings.getProperties(ConfigMappings.ConfigClass.configClass(CaptionfnConfig.class, "captionfn")).keySet();
        Set<String> knownEnv = keys.stream().map(Manifests::envName).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(knownEnv.containsAll(List.of("CAPTIONFN_MODEL_DIR", "CAPTIONFN_KAFKA_ENABLED", "CAPTIONFN_KAFKA_RETRY_MAX_RETRIES")),
                "CaptionfnConfig's keys as environment variables: " + knownEnv);
        for (var processor : processors().entrySet()) {
            for (String name : env(processor.getValue()).keySet()) {
                if (name.startsWith("CAPTIONFN_")) {
                    assertTrue(knownEnv.contains(name), processor.getKey() + ": " + name + " sets no captionfn key; known: " + knownEnv);
                }
            }
        }
    }

    @Test
    void modelVolumeIsMountedReadOnlyExactlyAtTheModelDirectory() {
        Map<String, String> claimsAccess = new LinkedHashMap<>();
        for (Manifest claim : MANIFESTS.ofType(PVC)) {
            claimsAccess.put(claim.name(), claim.node().path("spec").path("accessModes").toString());
        }
        for (var processor : processors().entrySet()) {
            Manifest deployment = processor.getKey();
            JsonNode container = processor.getValue();
            Map<String, JsonNode> volumes = new LinkedHashMap<>();
            podSpec(deployment).path("volumes").forEach(v -> volumes.put(text(v, "name"), v));
            String modelDir = env(container).get("CAPTIONFN_MODEL_DIR");
            assertFalse(isBlank(modelDir), deployment + ": the container sets no CAPTIONFN_MODEL_DIR (it would serve the embedded tiny model)");
            List<JsonNode> mounts = new ArrayList<>();
            container.path("volumeMounts").forEach(m -> {
                if (modelDir.equals(text(m, "mountPath"))) {
                    mounts.add(m);
                }
            });
            assertEquals(1, mounts.size(), deployment + ": exactly one volume must be mounted at CAPTIONFN_MODEL_DIR=" + modelDir);
            assertTrue(mounts.get(0).path("readOnly").asBoolean(false), deployment + ": the model mount at " + modelDir + " must be readOnly");
            JsonNode volume = volumes.get(text(mounts.get(0), "name"));
            assertTrue(volume != null && volume.has("persistentVolumeClaim"),
                    deployment + ": the model mount must be a persistentVolumeClaim volume, is " + volume);
            JsonNode claim = volume.path("persistentVolumeClaim");
            assertTrue(claim.path("readOnly").asBoolean(false), deployment + ": the model claim must be mounted readOnly");
            String claimName = text(claim, "claimName");
            assertTrue(claimsAccess.containsKey(claimName), deployment + ": no PersistentVolumeClaim " + claimName + " is defined");
            assertTrue(claimsAccess.get(claimName).contains("ReadOnlyMany"),
                    "the PersistentVolumeClaim " + claimName + " must offer ReadOnlyMany, so every replica can mount it");
        }
    }

    @Test
    void probesAndTheMetricsPathAreServedByTheApplicationOnItsHttpPort() {
        for (var processor : processors().entrySet()) {
            Manifest deployment = processor.getKey();
            JsonNode container = processor.getValue();
            Map<String, Integer> namedPorts = new LinkedHashMap<>();
            container.path("ports").forEach(p -> namedPorts.put(text(p, "name"), p.path("containerPort").asInt()));
            assertTrue(namedPorts.containsValue(HTTP_PORT), deployment + ": no containerPort " + HTTP_PORT + " (quarkus.http.port)");
            Map<String, JsonNode> paths = new LinkedHashMap<>();
            for (String kind : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                JsonNode httpGet = container.path(kind).path("httpGet");
                assertFalse(httpGet.isMissingNode(), deployment + ": no " + kind + " with httpGet");
                JsonNode port = httpGet.path("port");
                // a plain Deployment has no Knative to fill the port in: it must name the HTTP port
                int resolved = port.isInt() ? port.asInt() : namedPorts.getOrDefault(port.asText(), -1);
                assertEquals(HTTP_PORT, resolved, deployment + ": " + kind + " port " + port + " is not the HTTP port " + HTTP_PORT);
                paths.put(kind, httpGet.path("path"));
            }
            JsonNode annotations = deployment.node().path("spec").path("template").path("metadata").path("annotations");
            if (annotations.has("prometheus.io/path")) {
                paths.put("prometheus.io/path", annotations.path("prometheus.io/path"));
                assertEquals(String.valueOf(HTTP_PORT), text(annotations, "prometheus.io/port"), deployment + ": prometheus.io/port");
            }
            for (var entry : paths.entrySet()) {
                String path = entry.getValue().asText(null);
                assertFalse(isBlank(path), deployment + ": " + entry.getKey() + " has no path");
                int status = given().when().get(path).then().extract().statusCode();
                assertNotEquals(404, status, deployment + ": " + entry.getKey() + " " + path + " is not served by the application");
                // SmallRye Health answers UP with 200, DOWN with 503; metrics 200
                assertTrue(status == 200 || status == 503, deployment + ": " + entry.getKey() + " " + path + " answered " + status);
            }
        }
    }

    @Test
    void terminationGracePeriodOutlastsTheApplicationsShutdown() {
        for (var processor : processors().entrySet()) {
            JsonNode container = processor.getValue();
            // Quarkus's own reading of a duration ("300s", "5m", "PT5M", "300")
            var durations = ConfigProvider.getConfig().getConverter(Duration.class).orElseThrow();
            Duration delay = durations.convert(effective(container, "quarkus.shutdown.delay",
                    Optional.ofNullable(configured("quarkus.shutdown.delay")).orElse("0s")));
            Duration timeout = durations.convert(effective(container, "quarkus.shutdown.timeout",
                    Optional.ofNullable(configured("quarkus.shutdown.timeout")).orElse("0s")));
            long needed = Math.max(MIN_GRACE_SECONDS, delay.plus(timeout).toSeconds());
            // Kubernetes' default is 30s: the kubelet would SIGKILL captions (and the offset commit) mid-way
            long grace = podSpec(processor.getKey()).path("terminationGracePeriodSeconds").asLong(30);
            assertTrue(grace >= needed, processor.getKey() + ": terminationGracePeriodSeconds " + grace + " < " + needed
                    + "s (quarkus.shutdown.delay " + delay + " + timeout " + timeout + ", at least " + MIN_GRACE_SECONDS + "s)");
        }
    }

    @Test
    void recordsCaptionedAtOnceStayWithinTheInstancesInFlightLimit() {
        // past captionfn.limits.max-in-flight every further record would fail OVERLOADED and be retried
        for (var processor : processors().entrySet()) {
            JsonNode container = processor.getValue();
            int concurrency = Integer.parseInt(effective(container, "captionfn.kafka.concurrency", config.kafka().concurrency()));
            int maxInFlight = Integer.parseInt(effective(container, "captionfn.limits.max-in-flight", config.limits().maxInFlight()));
            assertTrue(concurrency >= 1 && concurrency <= maxInFlight, processor.getKey() + ": captionfn.kafka.concurrency "
                    + concurrency + " must lie in 1.." + maxInFlight + " (captionfn.limits.max-in-flight)");
        }
    }

    @Test
    void containerKeepsTheImagesJvmOptionsUserAndWritablePaths() throws IOException {
        Manifests.Dockerfile image = Manifests.Dockerfile.read(DOCKERFILE);
        List<String> imageOptions = Arrays.asList(image.env().getOrDefault("JAVA_OPTS_APPEND", "").trim().split("\\s+"));
        for (var processor : processors().entrySet()) {
            Manifest deployment = processor.getKey();
            JsonNode container = processor.getValue();
            Map<String, String> env = new LinkedHashMap<>(image.env());
            env.putAll(env(container));
            List<String> options = Arrays.asList(env.getOrDefault("JAVA_OPTS_APPEND", "").trim().split("\\s+"));
            for (String option : imageOptions) {
                assertTrue(options.contains(option), deployment + ": JAVA_OPTS_APPEND replaces the image's, and drops " + option);
            }
            JsonNode security = container.path("securityContext");
            if (security.has("runAsUser")) {
                assertEquals(image.user(), security.path("runAsUser").asText(), deployment + ": runAsUser differs from the image's USER");
            }
            if (security.path("readOnlyRootFilesystem").asBoolean(false)) {
                String tmpdir = options.stream().filter(o -> o.startsWith("-Djava.io.tmpdir=")).reduce((a, b) -> b)
                        .map(o -> o.substring("-Djava.io.tmpdir=".length())).orElse("/tmp");
                String djlCache = env.get("DJL_CACHE_DIR");
                assertFalse(isBlank(djlCache), deployment + ": with a read-only root, DJL_CACHE_DIR must name a writable directory");
                for (String path : List.of(tmpdir, djlCache)) {
                    boolean writable = false;
                    for (JsonNode mount : container.path("volumeMounts")) {
                        writable |= !mount.path("readOnly").asBoolean(false)
                                && Path.of(path).normalize().startsWith(Path.of(text(mount, "mountPath")).normalize());
                    }
                    assertTrue(writable, deployment + ": " + path + " is written at start (native libraries) but lies on no writable volume");
                }
            }
        }
    }

    // ---- scaling ----

    @Test
    void scaledObjectFollowsTheLagOfTheApplicationsConsumerGroupOnTheRequestTopic() {
        for (Manifest scaledObject : scaledObjects()) {
            var target = target(scaledObject);
            JsonNode container = target.getValue();
            String group = effective(container, "captionfn.kafka.group-id", config.kafka().groupId());
            String requestTopic = effective(container, "captionfn.kafka.request-topic", config.kafka().requestTopic());
            String offsetReset = effective(container, REQUEST_CHANNEL + "auto.offset.reset",
                    Optional.ofNullable(configured(REQUEST_CHANNEL + "auto.offset.reset")).orElse("latest"));
            for (JsonNode trigger : kafkaTriggers(scaledObject)) {
                // the ScaledObject CRD types trigger metadata as map[string]string: an unquoted
                // false or 20 is refused by the API server
                trigger.properties().forEach(f -> assertTrue(f.getValue().isTextual(),
                        scaledObject + ": trigger metadata " + f.getKey() + " must be a string (quote it), is " + f.getValue()));
                assertEquals(group, text(trigger, "consumerGroup"),
                        scaledObject + ": consumerGroup must be captionfn.kafka.group-id, else KEDA watches a group that does no work");
                assertEquals(requestTopic, text(trigger, "topic"), scaledObject + ": topic must be captionfn.kafka.request-topic");
                assertEquals(env(container).get("KAFKA_BOOTSTRAP_SERVERS"), text(trigger, "bootstrapServers"),
                        scaledObject + ": bootstrapServers must be the cluster the Deployment consumes from (KAFKA_BOOTSTRAP_SERVERS)");
                assertEquals(offsetReset, text(trigger, "offsetResetPolicy"), scaledObject + ": offsetResetPolicy must be the "
                        + "application's auto.offset.reset, so that KEDA counts as lag what a new consumer would read");
                assertEquals("false", text(trigger, "allowIdleConsumers"),
                        scaledObject + ": allowIdleConsumers must be \"false\": consumers beyond the partitions get no work");
                assertTrue(Integer.parseInt(text(trigger, "lagThreshold")) > 0, scaledObject + ": lagThreshold must be positive");
            }
        }
    }

    @Test
    void scaledObjectNeverRunsMoreReplicasThanTheRequestTopicHasPartitions() {
        for (Manifest scaledObject : scaledObjects()) {
            JsonNode spec = scaledObject.node().path("spec");
            // KEDA's default maxReplicaCount is 100
            int max = spec.path("maxReplicaCount").asInt(100);
            int min = spec.path("minReplicaCount").asInt(0);
            for (JsonNode trigger : kafkaTriggers(scaledObject)) {
                String topic = text(trigger, "topic");
                Manifest kafkaTopic = topicNamed(topic).orElse(null);
                assertNotNull(kafkaTopic, scaledObject + ": no KafkaTopic for the trigger's topic " + topic);
                int partitions = kafkaTopic.node().path("spec").path("partitions").asInt(0);
                // Kafka gives each partition to one member of the group: a replica past the partitions idles
                assertTrue(max <= partitions, scaledObject + ": maxReplicaCount " + max + " exceeds the " + partitions
                        + " partitions of " + topic + ", which bound how many consumers do work");
            }
            assertTrue(min >= 0 && min <= max, scaledObject + ": minReplicaCount " + min + " must lie in 0..maxReplicaCount " + max);
        }
    }
}
