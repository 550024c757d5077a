package dev.captionfn.deploy;

import static dev.captionfn.deploy.Manifests.containers;
import static dev.captionfn.deploy.Manifests.env;
import static dev.captionfn.deploy.Manifests.envName;
import static dev.captionfn.deploy.Manifests.isBlank;
import static dev.captionfn.deploy.Manifests.podSpec;
import static dev.captionfn.deploy.Manifests.text;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.captionfn.caption.Settings;
import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.modeldir.Graph;
import dev.captionfn.ort.ExecutionProvider;
import dev.captionfn.ort.SessionSettings;
import dev.captionfn.testing.PomFile;
import dev.captionfn.testing.TestConfig;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;
import jakarta.inject.Inject;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * The Knative manifests under deploy/knative agree with the code they deploy: the Trigger filters
 * name the CloudEvents types the function is configured with, the model volume sits where
 * CAPTIONFN_MODEL_DIR says, the probes hit endpoints the running application serves, the container
 * port is the HTTP port, and the JVM options and writable paths agree with the Dockerfile of each
 * container's image (deploy/docker/Dockerfile.jvm, or Dockerfile.gpu for captionfn:gpu). For the
 * GPU variant, `prepare` (the Service's init container and tools/prepare-job.yaml) runs the serving
 * image with the serving container's configuration and writes the cache claim the Service loads.
 * Nothing here needs a cluster: the YAML is read as data and compared with the configuration and
 * with this application, started by @QuarkusTest.
 */
@QuarkusTest
class KnativeManifestsTest {
    private static final Path KNATIVE_DIR = Path.of("deploy", "knative");
    private static final Path DOCKERFILE = Path.of("deploy", "docker", "Dockerfile.jvm");
    private static final Path GPU_DOCKERFILE = Path.of("deploy", "docker", "Dockerfile.gpu");
    private static final Path APPLICATION_PROPERTIES = Path.of("src", "main", "resources", "application.properties");
    private static final String MODEL_DIR_ENV = "CAPTIONFN_MODEL_DIR";
    private static final String CACHE_DIR_ENV = "CAPTIONFN_CACHE_DIR";
    private static final String GPU = "nvidia.com/gpu";
    private static final String KNATIVE_SERVICE = "serving.knative.dev/v1/Service";
    private static final String TRIGGER = "eventing.knative.dev/v1/Trigger";
    private static final String BROKER = "eventing.knative.dev/v1/Broker";
    private static final String PVC = "v1/PersistentVolumeClaim";
    private static final String JOB = "batch/v1/Job";
    /** The application's argument for building the warm-start caches and exiting. */
    private static final List<String> PREPARE = List.of("prepare");
    /** Mount paths Knative Serving refuses (its webhook's reservedPaths). */
    private static final Set<String> KNATIVE_RESERVED_PATHS = Set.of("/", "/dev", "/dev/log", "/tmp", "/var", "/var/log");
    /** Knative's progress deadline when a revision does not set one (config-deployment). */
    private static final Duration DEFAULT_PROGRESS_DEADLINE = Duration.ofSeconds(600);

    private static final Manifests MANIFESTS = Manifests.load(KNATIVE_DIR);

    @Inject
    CaptionfnConfig config;

    private static String filterType(Manifest trigger) {
        return text(trigger.node().path("spec").path("filter").path("attributes"), "type");
    }

    private static JsonNode subscriberRef(Manifest trigger) {
        return trigger.node().path("spec").path("subscriber").path("ref");
    }

    private static boolean subscribesTo(Manifest trigger, Set<String> knativeServices) {
        JsonNode ref = subscriberRef(trigger);
        return "Service".equals(text(ref, "kind")) && "serving.knative.dev/v1".equals(text(ref, "apiVersion"))
                && knativeServices.contains(text(ref, "name"));
    }

    private List<Manifest> captionfnServices() {
        List<Manifest> services = MANIFESTS.runningCaptionfn(KNATIVE_SERVICE);
        assertFalse(services.isEmpty(), "no Knative Service under " + KNATIVE_DIR + " runs a captionfn image");
        return services;
    }

    /**
     * A container that runs captionfn's image, and where: a Knative Service's serving container,
     * its init container, or a Job's container.
     */
    record CaptionfnContainer(Manifest owner, JsonNode container, Role role) {
        enum Role { SERVING, INIT, JOB }

        String image() {
            return text(container, "image");
        }

        List<JsonNode> mounts() {
            List<JsonNode> mounts = new ArrayList<>();
            container.path("volumeMounts").forEach(mounts::add);
            return mounts;
        }

        JsonNode volume(String name) {
            for (JsonNode volume : podSpecOf(owner).path("volumes")) {
                if (name.equals(text(volume, "name"))) {
                    return volume;
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return owner + " " + role.name().toLowerCase(Locale.ROOT) + " container " + text(container, "name");
        }
    }

    /** Every container under deploy/knative that runs captionfn's image, init containers and Jobs included. */
    private List<CaptionfnContainer> captionfnContainers() {
        List<CaptionfnContainer> all = new ArrayList<>();
        for (Manifest service : captionfnServices()) {
            for (JsonNode container : containers(service)) {
                all.add(new CaptionfnContainer(service, container, CaptionfnContainer.Role.SERVING));
            }
            for (JsonNode container : podSpec(service).path("initContainers")) {
                if (Manifests.isCaptionfnImage(text(container, "image"))) {
                    all.add(new CaptionfnContainer(service, container, CaptionfnContainer.Role.INIT));
                }
            }
        }
        for (Manifest job : MANIFESTS.runningCaptionfn(JOB)) {
            for (JsonNode container : containers(job)) {
                all.add(new CaptionfnContainer(job, container, CaptionfnContainer.Role.JOB));
            }
        }
        return all;
    }

    private List<CaptionfnContainer> preparing() {
        List<CaptionfnContainer> preparing = captionfnContainers().stream()
                .filter(c -> c.role() != CaptionfnContainer.Role.SERVING).toList();
        assertFalse(preparing.isEmpty(), "no init container or Job under " + KNATIVE_DIR + " runs captionfn's prepare");
        return preparing;
    }

    /** The serving containers a prepare container builds for: its pod's, or for a Job those running the same image. */
    private List<CaptionfnContainer> servedBy(CaptionfnContainer prepare) {
        return captionfnContainers().stream()
                .filter(c -> c.role() == CaptionfnContainer.Role.SERVING)
                .filter(c -> prepare.role() == CaptionfnContainer.Role.INIT ? c.owner() == prepare.owner() : c.image().equals(prepare.image()))
                .toList();
    }

    /** The pod spec of a Pod, or of the template of a Knative Service, Deployment or Job. */
    private static JsonNode podSpecOf(Manifest m) {
        JsonNode template = m.node().path("spec").path("template");
        return template.isMissingNode() ? m.node().path("spec") : template.path("spec");
    }

    private static List<String> args(JsonNode container) {
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        return args;
    }

    private static final Map<Path, Manifests.Dockerfile> DOCKERFILES = new LinkedHashMap<>();

    /** The Dockerfile an image is built from, told by its tag: captionfn:gpu is Dockerfile.gpu, every other Dockerfile.jvm. */
    private static Path dockerfileOf(String image) {
        String repository = image.substring(image.lastIndexOf('/') + 1);
        int colon = repository.indexOf(':');
        String tag = colon < 0 ? "" : repository.substring(colon + 1);
        return tag.startsWith("gpu") ? GPU_DOCKERFILE : DOCKERFILE;
    }

    private static synchronized Manifests.Dockerfile dockerfile(Path path) {
        return DOCKERFILES.computeIfAbsent(path, p -> {
            try {
                return Manifests.Dockerfile.read(p);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + p, e);
            }
        });
    }

    /** The environment the application sees: the image's ENV, then the container's. */
    private static Map<String, String> effectiveEnv(JsonNode container) {
        Map<String, String> env = new LinkedHashMap<>(dockerfile(dockerfileOf(text(container, "image"))).env());
        env.putAll(env(container));
        return env;
    }

    /** The mount a path lies on: the deepest whose mount path holds it (a volume mounted inside another shadows it). */
    private static Optional<JsonNode> mountOf(String path, List<JsonNode> mounts) {
        return mounts.stream().filter(m -> isUnder(path, text(m, "mountPath")))
                .max((a, b) -> Integer.compare(Path.of(text(a, "mountPath")).normalize().getNameCount(),
                        Path.of(text(b, "mountPath")).normalize().getNameCount()));
    }

    // ---- the file set ----

    @Test
    void deployKnativeHoldsYamlManifests() {
        assertTrue(Files.isDirectory(KNATIVE_DIR), KNATIVE_DIR.toAbsolutePath() + " is missing (tests run from the project root)");
        assertFalse(MANIFESTS.files().isEmpty(), "no *.yaml or *.yml file under " + KNATIVE_DIR);
        assertFalse(MANIFESTS.all().isEmpty(), "the YAML files under " + KNATIVE_DIR + " hold no document");
    }

    @Test
    void everyDocumentParsesAndHasApiVersionKindAndName() {
        List<String> problems = MANIFESTS.problems();
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void referencesResolveToObjectsDefinedAlongside() {
        Map<String, Set<String>> defined = new LinkedHashMap<>();
        for (Manifest m : MANIFESTS.all()) {
            defined.computeIfAbsent(m.type(), t -> new TreeSet<>()).add(m.namespace() + "/" + m.name());
        }
        List<String> dangling = new ArrayList<>();
        for (Manifest trigger : MANIFESTS.ofType(TRIGGER)) {
            String ns = trigger.namespace();
            check(defined, BROKER, ns, text(trigger.node().path("spec"), "broker"), trigger + " broker", dangling);
            checkRef(defined, ns, subscriberRef(trigger), trigger + " subscriber", dangling);
            checkRef(defined, ns, trigger.node().path("spec").path("delivery").path("deadLetterSink").path("ref"),
                    trigger + " deadLetterSink", dangling);
        }
        for (Manifest broker : MANIFESTS.ofType(BROKER)) {
            checkRef(defined, broker.namespace(), broker.node().path("spec").path("delivery").path("deadLetterSink").path("ref"),
                    broker + " deadLetterSink", dangling);
        }
        for (Manifest m : MANIFESTS.all()) {
            for (JsonNode volume : podSpecOf(m).path("volumes")) {
                String claim = text(volume.path("persistentVolumeClaim"), "claimName");
                if (claim != null) {
                    check(defined, PVC, m.namespace(), claim, m + " volume " + text(volume, "name"), dangling);
                }
            }
        }
        assertTrue(dangling.isEmpty(), String.join("\n", dangling));
    }

    private static void checkRef(Map<String, Set<String>> defined, String ns, JsonNode ref, String what, List<String> dangling) {
        if (ref.isMissingNode()) {
            return;
        }
        String type = text(ref, "apiVersion") + "/" + text(ref, "kind");
        String refNs = Optional.ofNullable(text(ref, "namespace")).orElse(ns);
        check(defined, type, refNs, text(ref, "name"), what, dangling);
    }

    private static void check(Map<String, Set<String>> defined, String type, String ns, String name, String what, List<String> dangling) {
        if (!defined.getOrDefault(type, Set.of()).contains(ns + "/" + name)) {
            dangling.add(what + " names " + type + " " + ns + "/" + name + ", which no manifest under " + KNATIVE_DIR + " defines");
        }
    }

    // ---- Triggers against captionfn.events.* ----

    @Test
    void configuredEventTypesAreDistinctSoRepliesNeverLoopBackToTheFunction() {
        var events = config.events();
        assertNotEquals(events.requestType(), events.resultType(), "a result of the request type would be delivered to the function again");
        assertNotEquals(events.requestType(), events.errorType(), "an error event of the request type would be delivered to the function again");
        assertNotEquals(events.resultType(), events.errorType(), "results and errors could not be told apart");
    }

    @Test
    void triggersToTheFunctionFilterOnTheConfiguredRequestType() {
        Set<String> functions = MANIFESTS.runningCaptionfn(KNATIVE_SERVICE).stream().map(Manifest::name).collect(Collectors.toSet());
        List<Manifest> toFunction = MANIFESTS.ofType(TRIGGER).stream().filter(t -> subscribesTo(t, functions)).toList();
        assertFalse(toFunction.isEmpty(), "no Trigger subscribes the captionfn Service " + functions);
        for (Manifest trigger : toFunction) {
            // a Trigger without this filter would also hand the function its own replies
            assertEquals(config.events().requestType(), filterType(trigger),
                    trigger + ": spec.filter.attributes.type must be captionfn.events.request-type");
        }
    }

    @Test
    void resultAndErrorTriggersFilterOnTheConfiguredResultAndErrorTypes() {
        var events = config.events();
        Set<String> functions = MANIFESTS.runningCaptionfn(KNATIVE_SERVICE).stream().map(Manifest::name).collect(Collectors.toSet());
        List<Manifest> triggers = MANIFESTS.ofType(TRIGGER);
        for (String type : List.of(events.resultType(), events.errorType())) {
            List<Manifest> routing = triggers.stream().filter(t -> type.equals(filterType(t))).toList();
            assertFalse(routing.isEmpty(), "no Trigger routes events of type " + type + " (captionfn.events.*)");
            for (Manifest trigger : routing) {
                assertFalse(subscribesTo(trigger, functions), trigger + " sends the function's own " + type + " events back to it");
            }
        }
        // a Trigger filtering on a type the function neither takes nor sends routes nothing
        Set<String> configured = Set.of(events.requestType(), events.resultType(), events.errorType());
        for (Manifest trigger : triggers) {
            assertTrue(configured.contains(filterType(trigger)),
                    trigger + " filters on type " + filterType(trigger) + ", none of the configured " + configured);
        }
    }

    // ---- the captionfn Services ----

    @Test
    void modelVolumeIsMountedReadOnlyExactlyAtTheModelDirectory() {
        Map<String, String> claimsAccess = new LinkedHashMap<>();
        for (Manifest claim : MANIFESTS.ofType(PVC)) {
            claimsAccess.put(claim.name(), claim.node().path("spec").path("accessModes").toString());
        }
        // prepare loads the model it builds for, so its containers need the same mount as the server's
        for (CaptionfnContainer c : captionfnContainers()) {
            String modelDir = env(c.container()).get(MODEL_DIR_ENV);
            assertFalse(isBlank(modelDir), c + ": sets no " + MODEL_DIR_ENV + " (it would serve the embedded tiny model)");
            List<JsonNode> mounts = c.mounts().stream().filter(m -> modelDir.equals(text(m, "mountPath"))).toList();
            assertEquals(1, mounts.size(), c + ": exactly one volume must be mounted at " + MODEL_DIR_ENV + "=" + modelDir);
            JsonNode mount = mounts.get(0);
            assertTrue(mount.path("readOnly").asBoolean(false), c + ": the model mount at " + modelDir + " must be readOnly");
            JsonNode volume = c.volume(text(mount, "name"));
            assertTrue(volume != null && volume.has("persistentVolumeClaim"),
                    c + ": the model mount must be a persistentVolumeClaim volume, is " + volume);
            JsonNode claim = volume.path("persistentVolumeClaim");
            assertTrue(claim.path("readOnly").asBoolean(false), c + ": the model claim must be mounted readOnly");
            String claimName = text(claim, "claimName");
            assertTrue(claimsAccess.containsKey(claimName), c + ": no PersistentVolumeClaim " + claimName + " is defined");
            assertTrue(claimsAccess.get(claimName).contains("ReadOnlyMany"),
                    "the PersistentVolumeClaim " + claimName + " must offer ReadOnlyMany, so every replica can mount it");
        }
    }

    @Test
    void containerPortIsTheApplicationsHttpPort() throws IOException {
        // the port the packaged application listens on (a test run listens elsewhere): the prod
        // configuration in application.properties, else Quarkus's default, 8080
        Properties properties = new Properties();
        try (var in = Files.newBufferedReader(APPLICATION_PROPERTIES)) {
            properties.load(in);
        }
        String configured = properties.getProperty("%prod.quarkus.http.port", properties.getProperty("quarkus.http.port", "8080"));
        for (Manifest service : captionfnServices()) {
            for (JsonNode container : containers(service)) {
                int httpPort = Integer.parseInt(env(container).getOrDefault("QUARKUS_HTTP_PORT", configured).trim());
                JsonNode ports = container.path("ports");
                assertEquals(1, ports.size(), service + ": Knative takes exactly one container port");
                assertEquals(httpPort, ports.get(0).path("containerPort").asInt(),
                        service + ": containerPort must be the port Quarkus listens on (quarkus.http.port)");
            }
        }
    }

    @Test
    void everyProbeTargetsAHealthEndpointTheApplicationServes() {
        for (Manifest service : captionfnServices()) {
            for (JsonNode container : containers(service)) {
                int port = container.path("ports").path(0).path("containerPort").asInt(8080);
                for (String kind : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                    JsonNode probe = container.path(kind);
                    assertFalse(probe.isMissingNode(), service + ": no " + kind);
                    JsonNode httpGet = probe.path("httpGet");
                    String path = text(httpGet, "path");
                    assertFalse(isBlank(path), service + ": " + kind + " has no httpGet.path");
                    // Knative refuses a probe port other than the container port (or leaves it to fill in)
                    if (httpGet.has("port")) {
                        assertEquals(port, httpGet.path("port").asInt(), service + ": " + kind + " port");
                    }
                    int status = given().when().get(path).then().extract().statusCode();
                    assertNotEquals(404, status, service + ": " + kind + " probes " + path + ", which the application does not serve");
                    // SmallRye Health answers UP with 200 and DOWN with 503 (readiness is DOWN until the warm-up ran)
                    assertTrue(status == 200 || status == 503, service + ": " + kind + " " + path + " answered " + status);
                }
                // Knative's aggressive readiness probing (periodSeconds unset) takes no timeout or threshold
                JsonNode readiness = container.path("readinessProbe");
                if (readiness.path("periodSeconds").asInt(0) == 0) {
                    assertFalse(readiness.has("timeoutSeconds") || readiness.has("failureThreshold"),
                            service + ": Knative rejects timeoutSeconds/failureThreshold on a readinessProbe without periodSeconds");
                }
            }
        }
    }

    @Test
    void startupProbeGivesUpBeforeKnativesProgressDeadline() {
        for (Manifest service : captionfnServices()) {
            String annotation = text(service.node().path("spec").path("template").path("metadata").path("annotations"),
                    "serving.knative.dev/progress-deadline");
            Duration deadline = annotation == null ? DEFAULT_PROGRESS_DEADLINE : goDuration(annotation);
            for (JsonNode container : containers(service)) {
                JsonNode probe = container.path("startupProbe");
                long budget = probe.path("initialDelaySeconds").asLong(0)
                        + probe.path("periodSeconds").asLong(10) * probe.path("failureThreshold").asLong(3);
                assertTrue(Duration.ofSeconds(budget).compareTo(deadline) < 0, service + ": the startup probe may take " + budget
                        + "s, not less than the progress deadline " + deadline + ": Knative would fail the revision first");
            }
        }
    }

    @Test
    void brokerWaitsForAnAttemptAtLeastAsLongAsTheFunctionMayTake() {
        Map<String, Long> timeouts = new LinkedHashMap<>();
        for (Manifest service : captionfnServices()) {
            timeouts.merge(service.name(), podSpec(service).path("timeoutSeconds").asLong(300), Math::max);
        }
        for (Manifest trigger : MANIFESTS.ofType(TRIGGER)) {
            String timeout = text(trigger.node().path("spec").path("delivery"), "timeout");
            Long serviceTimeout = timeouts.get(text(subscriberRef(trigger), "name"));
            if (timeout != null && serviceTimeout != null) {
                assertTrue(Duration.parse(timeout).getSeconds() >= serviceTimeout, trigger + ": delivery.timeout " + timeout
                        + " is shorter than the Service's timeoutSeconds " + serviceTimeout + ": the Broker would retry work in progress");
            }
        }
    }

    @Test
    void knativeAdmitsNoMoreConcurrentRequestsThanTheFunctionAccepts() {
        // past captionfn.limits.max-in-flight the function answers 429, so a containerConcurrency
        // above it would have Knative hand a replica requests that can only bounce back as retries
        String key = "captionfn.limits.max-in-flight";
        Optional<Integer> configured = ConfigProvider.getConfig().getOptionalValue(key, Integer.class);
        for (Manifest service : captionfnServices()) {
            int concurrency = podSpec(service).path("containerConcurrency").asInt(0);
            assertTrue(concurrency > 0, service + ": set containerConcurrency (0 means unlimited): a replica holds a few captions at a time");
            for (JsonNode container : containers(service)) {
                Optional<Integer> maxInFlight = Optional.ofNullable(env(container).get(envName(key)))
                        .map(v -> Integer.valueOf(v.trim())).or(() -> configured);
                maxInFlight.ifPresent(max -> assertTrue(concurrency <= max, service + ": containerConcurrency "
                        + concurrency + " exceeds " + key + " " + max + ": the function would answer the rest with 429"));
            }
        }
    }

    @Test
    void captionfnEnvironmentVariablesNameConfigurationKeysThatExist() {
        Set<String> known = new TreeSet<>();
        configKeys(CaptionfnConfig.class, "captionfn", known);
        Set<String> knownEnv = known.stream().map(Manifests::envName).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(knownEnv.contains(MODEL_DIR_ENV), "captionfn.model.dir is " + MODEL_DIR_ENV + " in the environment: " + knownEnv);
        for (CaptionfnContainer c : captionfnContainers()) {
            for (String name : env(c.container()).keySet()) {
                if (name.startsWith("CAPTIONFN_")) {
                    assertTrue(knownEnv.contains(name), c + ": " + name + " sets no captionfn key; known: " + knownEnv);
                }
            }
        }
        for (Path file : List.of(DOCKERFILE, GPU_DOCKERFILE)) {
            for (String name : dockerfile(file).env().keySet()) {
                if (name.startsWith("CAPTIONFN_")) {
                    assertTrue(knownEnv.contains(name), file + ": ENV " + name + " sets no captionfn key; known: " + knownEnv);
                }
            }
        }
    }

    @Test
    void serviceKeepsTheImagesJvmOptionsAndUser() {
        for (Path file : List.of(DOCKERFILE, GPU_DOCKERFILE)) {
            assertTrue(javaOptions(dockerfile(file).env()).contains("-Dquarkus.http.host=0.0.0.0"),
                    file + " must make Quarkus listen on every interface");
        }
        for (CaptionfnContainer c : captionfnContainers()) {
            Path file = dockerfileOf(c.image());
            Manifests.Dockerfile image = dockerfile(file);
            String override = env(c.container()).get("JAVA_OPTS_APPEND");
            if (override != null) {
                // on the GPU image that includes -Donnxruntime.native.path: without it ONNX Runtime
                // unpacks its libraries again, and its TensorRT provider may not find the CUDA one
                List<String> options = Arrays.asList(override.trim().split("\\s+"));
                for (String option : javaOptions(image.env())) {
                    assertTrue(options.contains(option), c + ": JAVA_OPTS_APPEND replaces the one of " + file + ", and drops " + option);
                }
            }
            JsonNode runAsUser = c.container().path("securityContext").path("runAsUser");
            if (!runAsUser.isMissingNode()) {
                assertEquals(image.user(), runAsUser.asText(), c + ": runAsUser differs from the USER of " + file);
            }
        }
    }

    private static List<String> javaOptions(Map<String, String> env) {
        return Arrays.asList(env.getOrDefault("JAVA_OPTS_APPEND", "").trim().split("\\s+"));
    }

    @Test
    void everyPathTheFunctionWritesIsOnAWritableVolume() {
        for (CaptionfnContainer c : captionfnContainers()) {
            List<JsonNode> mounts = c.mounts();
            if (c.owner().type().equals(KNATIVE_SERVICE)) {
                for (JsonNode mount : mounts) {
                    assertFalse(KNATIVE_RESERVED_PATHS.contains(text(mount, "mountPath")),
                            c + ": Knative reserves the mount path " + text(mount, "mountPath"));
                }
            }
            if (!c.container().path("securityContext").path("readOnlyRootFilesystem").asBoolean(false)) {
                continue;
            }
            Map<String, String> env = effectiveEnv(c.container());
            String tmpdir = systemProperty(env.getOrDefault("JAVA_OPTS_APPEND", ""), "java.io.tmpdir").orElse("/tmp");
            String djlCache = env.get("DJL_CACHE_DIR");
            assertFalse(isBlank(djlCache), c + ": with a read-only root, DJL_CACHE_DIR must name a writable directory");
            // the warm-start caches and the CUDA driver's JIT cache, where the image or the container names them
            List<String> paths = new ArrayList<>(List.of(tmpdir, djlCache));
            for (String name : List.of(CACHE_DIR_ENV, "CUDA_CACHE_PATH")) {
                if (!isBlank(env.get(name))) {
                    paths.add(env.get(name));
                }
            }
            for (String path : paths) {
                Optional<JsonNode> mount = mountOf(path, mounts);
                assertTrue(mount.isPresent() && !mount.get().path("readOnly").asBoolean(false),
                        c + ": " + path + " is written (native libraries, caches) but lies on no writable volume");
            }
        }
    }

    // ---- the GPU variant: image, prepare and the warm-start cache ----

    @Test
    void gpuImageLoadsOnnxRuntimeFromTheDirectoryItUnpacksAndNamesTheBuildsVersion() throws IOException {
        List<String> lines = Files.readAllLines(GPU_DOCKERFILE);
        String nativePath = systemProperty(dockerfile(GPU_DOCKERFILE).env().getOrDefault("JAVA_OPTS_APPEND", ""),
                "onnxruntime.native.path").orElse(null);
        assertFalse(isBlank(nativePath), GPU_DOCKERFILE + ": JAVA_OPTS_APPEND names no -Donnxruntime.native.path: "
                + "ONNX Runtime would unpack its libraries at every start, and TensorRT may not find the CUDA provider");
        boolean copied = lines.stream().map(String::trim).filter(l -> l.startsWith("COPY "))
                .map(l -> l.substring(l.lastIndexOf(' ') + 1))
                .anyMatch(destination -> Path.of(destination).normalize().equals(Path.of(nativePath).normalize()));
        assertTrue(copied, GPU_DOCKERFILE + ": no COPY puts ONNX Runtime's libraries into " + nativePath);
        // the CUDA, cuDNN and TensorRT versions of the image belong to one ONNX Runtime version
        String jar = "target/gpu/quarkus-app/lib/main/com.microsoft.onnxruntime.onnxruntime_gpu-"
                + PomFile.read().property("onnxruntime.version") + ".jar";
        assertTrue(lines.stream().anyMatch(l -> l.contains(jar)), GPU_DOCKERFILE + " does not unpack " + jar
                + ", the jar of pom.xml's onnxruntime.version; after a version change, check the CUDA, cuDNN and TensorRT"
                + " versions the Dockerfile pins against the new one before renaming the jar there");
        // the gpu profile builds into target/gpu; target/quarkus-app holds the CPU build
        assertTrue(lines.stream().noneMatch(l -> l.contains("target/quarkus-app")), GPU_DOCKERFILE + " copies the CPU build (target/quarkus-app)");
    }

    /**
     * The providers each container gets, read as the application reads them (the image's ENV, then
     * the container's, through SmallRye's environment source): on the GPU image TensorRT for the
     * static-shape vision graph and CUDA for the embed graph and the decoder, whose past grows at
     * every token; on the CPU image the CPU for all three. The GPU containers repeat the image's
     * provider variables, so that the manifest reads as the whole choice.
     */
    @Test
    void gpuContainersRunVisionOnTensorRtAndTheDecoderOnCudaAndCpuContainersTheCpu() {
        Map<Graph, List<ExecutionProvider>> gpu = new EnumMap<>(Graph.class);
        gpu.put(Graph.VISION, List.of(ExecutionProvider.TENSORRT, ExecutionProvider.CUDA, ExecutionProvider.CPU));
        gpu.put(Graph.EMBED, List.of(ExecutionProvider.CUDA, ExecutionProvider.CPU));
        gpu.put(Graph.DECODER, List.of(ExecutionProvider.CUDA, ExecutionProvider.CPU));
        Map<String, String> imageProviders = providerVariables(dockerfile(GPU_DOCKERFILE).env());
        assertEquals(gpu, providers(imageProviders), GPU_DOCKERFILE + ": its providers per graph");
        boolean sawGpu = false;
        for (CaptionfnContainer c : captionfnContainers()) {
            Map<Graph, List<ExecutionProvider>> actual = providers(effectiveEnv(c.container()));
            if (dockerfileOf(c.image()).equals(GPU_DOCKERFILE)) {
                sawGpu = true;
                assertEquals(gpu, actual, c + ": providers per graph");
                assertEquals(imageProviders, providerVariables(env(c.container())), c + ": repeats the image's provider variables");
            } else {
                assertEquals(SessionSettings.everyGraph(List.of(ExecutionProvider.CPU)), actual, c + ": providers per graph");
            }
        }
        assertTrue(sawGpu, "no container under " + KNATIVE_DIR + " runs the GPU image");
    }

    private static Map<String, String> providerVariables(Map<String, String> env) {
        Map<String, String> providers = new TreeMap<>(env);
        providers.keySet().removeIf(name -> !name.startsWith("CAPTIONFN_EXECUTION_PROVIDERS"));
        return providers;
    }

    /** Each graph's providers as the application takes them from this environment. */
    private static Map<Graph, List<ExecutionProvider>> providers(Map<String, String> env) {
        return Settings.sessions(TestConfig.of(Map.of(), providerVariables(env))).providers();
    }

    @Test
    void prepareRunsTheServingImageWithTheSingleArgumentPrepare() {
        for (CaptionfnContainer prepare : preparing()) {
            // args only: a command would replace run-java.sh, and JAVA_OPTS_APPEND with it
            assertTrue(prepare.container().path("command").isMissingNode(), prepare + ": a command would bypass the image's entrypoint");
            assertEquals(PREPARE, args(prepare.container()), prepare + ": must run the application with the single argument prepare");
            assertTrue(prepare.container().path("ports").isEmpty(), prepare + ": prepare serves nothing, so it opens no port");
            List<CaptionfnContainer> served = servedBy(prepare);
            assertFalse(served.isEmpty(), prepare + ": no captionfn Service runs " + prepare.image() + ", the image it builds caches for");
            for (CaptionfnContainer serving : served) {
                assertEquals(serving.image(), prepare.image(), prepare + ": builds with another image than " + serving + " loads with");
            }
        }
    }

    @Test
    void prepareSeesExactlyTheServingContainersEnvironment() {
        for (CaptionfnContainer prepare : preparing()) {
            for (CaptionfnContainer serving : servedBy(prepare)) {
                // providers, their options, the cache directory and the shape limits decide what is
                // built; caches built for other settings would not be the ones the server loads
                Map<String, String> expected = env(serving.container());
                Map<String, String> actual = env(prepare.container());
                Set<String> differing = new TreeSet<>(expected.keySet());
                differing.addAll(actual.keySet());
                differing.removeIf(name -> Optional.ofNullable(expected.get(name)).equals(Optional.ofNullable(actual.get(name))));
                assertTrue(differing.isEmpty(), prepare + ": its environment differs from " + serving + " in " + differing);
            }
        }
    }

    @Test
    void prepareBuildsOnTheKindOfGpuThatRunsTheEngines() {
        for (CaptionfnContainer prepare : preparing()) {
            for (CaptionfnContainer serving : servedBy(prepare)) {
                String servingGpus = text(serving.container().path("resources").path("limits"), GPU);
                assertEquals(servingGpus, text(prepare.container().path("resources").path("limits"), GPU),
                        prepare + ": its " + GPU + " limit differs from " + serving + "'s: TensorRT builds engines on the GPU that runs them");
                if (prepare.role() == CaptionfnContainer.Role.JOB) {
                    JsonNode job = podSpecOf(prepare.owner());
                    JsonNode service = podSpecOf(serving.owner());
                    assertEquals(service.path("nodeSelector"), job.path("nodeSelector"),
                            prepare + ": nodeSelector differs from " + serving.owner() + "'s: an engine only runs on the kind of GPU it was built on");
                    assertEquals(service.path("tolerations"), job.path("tolerations"), prepare + ": tolerations differ from " + serving.owner() + "'s");
                    String restart = text(job, "restartPolicy");
                    assertTrue("Never".equals(restart) || "OnFailure".equals(restart), prepare + ": a Job's pods need restartPolicy Never or OnFailure");
                }
            }
        }
    }

    @Test
    void warmStartCacheIsOneReadWriteManyClaimThatPrepareAndTheServerShare() {
        Map<String, String> claimsAccess = new LinkedHashMap<>();
        for (Manifest claim : MANIFESTS.ofType(PVC)) {
            claimsAccess.put(claim.name(), claim.node().path("spec").path("accessModes").toString());
        }
        for (CaptionfnContainer prepare : preparing()) {
            String prepareClaim = cacheClaim(prepare, claimsAccess);
            for (CaptionfnContainer serving : servedBy(prepare)) {
                assertEquals(effectiveEnv(serving.container()).get(CACHE_DIR_ENV), effectiveEnv(prepare.container()).get(CACHE_DIR_ENV),
                        prepare + ": " + CACHE_DIR_ENV + " differs from " + serving + "'s");
                assertEquals(prepareClaim, cacheClaim(serving, claimsAccess),
                        prepare + ": writes its caches to another claim than " + serving + " loads them from");
            }
        }
    }

    /** The claim a container's CAPTIONFN_CACHE_DIR lies on, checked to be writable and shared. */
    private static String cacheClaim(CaptionfnContainer c, Map<String, String> claimsAccess) {
        String cacheDir = effectiveEnv(c.container()).get(CACHE_DIR_ENV);
        assertFalse(isBlank(cacheDir), c + ": no " + CACHE_DIR_ENV + " (in the container or its image): prepare would build nothing to keep");
        JsonNode mount = mountOf(cacheDir, c.mounts()).orElse(null);
        assertTrue(mount != null && !mount.path("readOnly").asBoolean(false), c + ": " + CACHE_DIR_ENV + "=" + cacheDir + " lies on no writable mount");
        JsonNode volume = c.volume(text(mount, "name"));
        assertTrue(volume != null && volume.has("persistentVolumeClaim"),
                c + ": " + cacheDir + " must be on a persistentVolumeClaim, so the caches outlive the pod that built them; is " + volume);
        JsonNode claim = volume.path("persistentVolumeClaim");
        assertFalse(claim.path("readOnly").asBoolean(false), c + ": the cache claim is mounted readOnly");
        String claimName = text(claim, "claimName");
        assertTrue(claimsAccess.containsKey(claimName), c + ": no PersistentVolumeClaim " + claimName + " is defined");
        assertTrue(claimsAccess.get(claimName).contains("ReadWriteMany"), "the PersistentVolumeClaim " + claimName
                + " must offer ReadWriteMany: prepare writes it and every replica, on any node, reads it");
        return claimName;
    }

    // ---- helpers ----

    private static boolean isUnder(String path, String dir) {
        Path p = Path.of(path).normalize();
        return p.startsWith(Path.of(dir).normalize());
    }

    private static Optional<String> systemProperty(String javaOptions, String name) {
        Matcher m = Pattern.compile("(?:^|\\s)-D" + Pattern.quote(name) + "=(\\S+)").matcher(javaOptions);
        String value = null;
        while (m.find()) {
            value = m.group(1); // the last one wins, as on the java command line
        }
        return Optional.ofNullable(value);
    }

    /** A Go time.Duration string as Knative annotations take it: "900s", "15m", "1h30m". */
    private static Duration goDuration(String text) {
        Matcher m = Pattern.compile("(\\d+)(h|m|s)").matcher(text);
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.find() && m.start() == end) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofSeconds(n);
            });
            end = m.end();
        }
        if (end != text.length() || end == 0) {
            fail("not a duration Knative reads: " + text);
        }
        return total;
    }

    /**
     * The property names of a @ConfigMapping interface, by its naming rules (kebab-case, @WithName,
     * @WithParentName), a map keyed by an enum giving one name per constant
     * (captionfn.execution-providers.vision, …).
     */
    private static void configKeys(Class<?> mapping, String prefix, Set<String> keys) {
        for (Method method : mapping.getDeclaredMethods()) {
            if (method.isDefault() || method.isSynthetic() || method.getParameterCount() > 0
                    || java.lang.reflect.Modifier.isStatic(method.getModifiers())) {
                continue;
            }
            WithName withName = method.getAnnotation(WithName.class);
            String key = method.isAnnotationPresent(WithParentName.class) ? prefix
                    : prefix + "." + (withName != null ? withName.value() : kebab(method.getName()));
            Class<?> type = method.getReturnType();
            if (type.isInterface() && type.getName().startsWith("dev.captionfn.")) {
                configKeys(type, key, keys);
            } else if (Map.class.isAssignableFrom(type) && method.getGenericReturnType() instanceof ParameterizedType map
                    && map.getActualTypeArguments()[0] instanceof Class<?> keyType && keyType.isEnum()) {
                for (Object constant : keyType.getEnumConstants()) {
                    keys.add(key + "." + constant);
                }
            } else {
                keys.add(key);
            }
        }
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

}
