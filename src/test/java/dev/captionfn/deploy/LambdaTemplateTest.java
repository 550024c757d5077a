package dev.captionfn.deploy;

import dev.captionfn.testing.PomFile;
import static dev.captionfn.testing.DockerContext.glob;
import static dev.captionfn.testing.DockerContext.ignored;
import static dev.captionfn.testing.DockerContext.trimSlash;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.captionfn.config.CaptionfnConfig;
import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.quarkus.runtime.configuration.PathConverter;
import io.smallrye.config.ConfigMappings;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The AWS Lambda deployment under deploy/lambda agrees with the code it deploys: the image starts
 * Funqy's Lambda handler on the Lambda profile's build output, every function's environment is
 * configuration the application really reads (and converts), the model lies on the mounted EFS
 * file system, native libraries are unpacked under /tmp, memory, timeout and ONNX Runtime's
 * threads fit what Lambda gives, the SQS path publishes every outcome to a result queue it may send
 * to and reports, retries and dead-letters the rest instead of deleting them, and a direct
 * invocation's asynchronous outcome has a destination. Nothing is deployed: the SAM template and the Dockerfile are
 * read as data. A plain JUnit test (no application started): the configuration is read by SmallRye
 * Config with CaptionfnConfig's mapping, from the configuration files the lambda profile packs
 * (application.properties and META-INF/microprofile-config.properties of its resource directories)
 * and each function's environment, as the Lambda build reads them.
 */
class LambdaTemplateTest {
    private static final Path DIR = Path.of("deploy", "lambda");
    private static final Path TEMPLATE = DIR.resolve("template.yaml");
    private static final Path DOCKERFILE = DIR.resolve("Dockerfile");
    private static final Path DOCKERIGNORE = DIR.resolve("Dockerfile.dockerignore");
    /** The lambda build's sources, where its Funqy functions are (not compiled in this build). */
    private static final Path LAMBDA_SOURCES = Path.of("src", "main", "java", "dev", "captionfn", "lambda");

    /** quarkus-funqy-amazon-lambda's handler: it runs the exported function, once per message of an SQS event. */
    private static final String FUNQY_HANDLER = "io.quarkus.funqy.lambda.FunqyStreamHandler::handleRequest";
    private static final String FUNCTION = "AWS::Serverless::Function";
    private static final String QUEUE = "AWS::SQS::Queue";
    /** ${LAMBDA_TASK_ROOT} of the AWS base images; the Java runtime loads it and every jar in its lib/. */
    private static final String TASK_ROOT = "/var/task";
    private static final Pattern LAMBDA_JAVA_IMAGE = Pattern.compile("public\\.ecr\\.aws/lambda/java:(\\d+)(?:[.@].*)?");
    /** The first AWS Lambda Java base image on Amazon Linux 2023: java:17 is Amazon Linux 2 (glibc 2.26). */
    private static final int FIRST_AL2023_JAVA = 21;

    // Lambda's limits (AWS Lambda quotas)
    private static final int MIN_MEMORY_MB = 128;
    private static final int MAX_MEMORY_MB = 10_240;
    private static final int MAX_TIMEOUT_S = 900;
    private static final int MIN_EPHEMERAL_MB = 512;
    private static final int MAX_EPHEMERAL_MB = 10_240;
    /** "At 1,769 MB, a function has the equivalent of one vCPU", up to 6 vCPUs at 10,240 MB. */
    private static final int MB_PER_VCPU = 1_769;
    private static final int MAX_VCPUS = 6;
    /** EFS is mounted one level below /mnt (FileSystemConfig.LocalMountPath's pattern). */
    private static final Pattern LOCAL_MOUNT_PATH = Pattern.compile("^/mnt/[a-zA-Z0-9-_.]+$");
    // SQS
    private static final int VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT = 6;
    private static final int MAX_VISIBILITY_TIMEOUT_S = 43_200;
    private static final int DEFAULT_RETENTION_S = 345_600;
    /** AWS's advice for a queue a Lambda function consumes: enough receives that throttling and transient failures are retried. */
    private static final int MIN_MAX_RECEIVE_COUNT = 5;
    /** Variables Lambda sets itself and refuses in a function's configuration. */
    private static final Set<String> RESERVED_VARIABLES = Set.of("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
            "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT",
            "LAMBDA_RUNTIME_DIR");
    private static final String FUNQY_SQS_FAILURES = "quarkus.funqy.amazon-lambda.advanced-event-handling.sqs.report-batch-item-failures";
    private static final String FUNQY_EVENT_HANDLING = "quarkus.funqy.amazon-lambda.advanced-event-handling.enabled";
    private static final String FUNQY_EXPORT = "quarkus.funqy.export";
    /** Lambda's SQS event model: a Funqy function that takes it is handed each message whole, its id included. */
    private static final String SQS_MESSAGE = "SQSMessage";
    private static final String RESULT_QUEUE_URL = "CAPTIONFN_LAMBDA_RESULT_QUEUE_URL";
    private static final int MAX_RETENTION_S = 1_209_600;
    /** EventInvokeConfig's limits: retries of a failed asynchronous invocation, and how long an event may wait. */
    private static final int MAX_ASYNC_RETRIES = 2;
    private static final int MIN_EVENT_AGE_S = 60;
    private static final int MAX_EVENT_AGE_S = 21_600;

    private static final Template SAM = Template.read(TEMPLATE);
    private static final ImageFile IMAGE = ImageFile.read(DOCKERFILE);

    // ---- the file set ----

    @Test
    void templateIsSamWrittenWithLongFormIntrinsicsThatPlainYamlReadersSee() throws IOException {
        assertEquals("AWS::Serverless-2016-10-31", SAM.root.path("Transform").asText(), TEMPLATE + ": not a SAM template");
        // a YAML reader that does not know CloudFormation's tags reads "!Ref X" as the string "X":
        // this test (and any other tool) would then check a name instead of a value
        List<String> tagged = new ArrayList<>();
        Pattern shortForm = Pattern.compile("(^|[\\s:\\[,-])!(Ref|GetAtt|Sub|Join|If|Select|Split|FindInMap|ImportValue|Base64|GetAZs|Cidr|"
                + "Equals|And|Or|Not|Condition|Transform)\\b");
        List<String> lines = Files.readAllLines(TEMPLATE);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int comment = line.indexOf(" #");
            String code = line.trim().startsWith("#") ? "" : comment >= 0 ? line.substring(0, comment) : line;
            if (shortForm.matcher(code).find()) {
                tagged.add(TEMPLATE + ":" + (i + 1) + ": " + line.trim());
            }
        }
        assertTrue(tagged.isEmpty(), "write intrinsics in their long form (Ref:, Fn::GetAtt:, Fn::Sub:):\n" + String.join("\n", tagged));
        assertFalse(SAM.functions().isEmpty(), TEMPLATE + " defines no " + FUNCTION);
    }

    @Test
    void everyFunctionRunsTheImageThatDeployLambdaDockerfileBuilds() {
        for (var function : SAM.functions().entrySet()) {
            String name = function.getKey();
            JsonNode properties = function.getValue();
            assertEquals("Image", properties.path("PackageType").asText(), name + ": PackageType must be Image (the container image)");
            assertTrue(properties.path("Handler").isMissingNode() && properties.path("Runtime").isMissingNode(),
                    name + ": an image function takes its handler from the image's CMD, not Handler/Runtime");
            JsonNode command = properties.path("ImageConfig").path("Command");
            if (!command.isMissingNode()) {
                assertEquals(List.of(FUNQY_HANDLER), texts(command), name + ": ImageConfig.Command overrides the CMD with another handler");
            }
            // what `sam build` builds: DockerContext relative to the template, Dockerfile relative to the context
            JsonNode metadata = SAM.resources.path(name).path("Metadata");
            String context = metadata.path("DockerContext").asText(null);
            String dockerfile = metadata.path("Dockerfile").asText("Dockerfile");
            assertNotNull(context, name + ": Metadata.DockerContext is missing, so sam build has no image to build");
            Path built = TEMPLATE.getParent().resolve(context).resolve(dockerfile).normalize();
            assertEquals(DOCKERFILE.normalize(), built, name + ": sam build would build " + built + ", not " + DOCKERFILE);
            assertEquals(Path.of("").toAbsolutePath(), TEMPLATE.getParent().resolve(context).toAbsolutePath().normalize(),
                    name + ": the Dockerfile's COPY paths are relative to the project root, which must be the build context");
        }
    }

    @Test
    void imageIsALambdaJavaBaseImageThatRunsTheBytecodeAndTheNativeLibraries() {
        Matcher base = LAMBDA_JAVA_IMAGE.matcher(IMAGE.from());
        assertTrue(base.matches(), DOCKERFILE + ": FROM " + IMAGE.from() + " is not an AWS Lambda base image for Java "
                + "(public.ecr.aws/lambda/java:NN), which brings the runtime that calls the handler");
        int java = Integer.parseInt(base.group(1));
        int release = Integer.parseInt(PomFile.read().property("maven.compiler.release"));
        assertTrue(java >= release, DOCKERFILE + ": java:" + java + " cannot run classes compiled for Java " + release);
        assertTrue(java >= FIRST_AL2023_JAVA, DOCKERFILE + ": java:" + java + " is Amazon Linux 2 (glibc 2.26); ONNX Runtime's library "
                + "needs GLIBC_2.27 and DJL's tokenizers GLIBC_2.34: use java:" + FIRST_AL2023_JAVA + " or later (Amazon Linux 2023)");
    }

    @Test
    void imageStartsFunqysLambdaHandler() {
        // the lambda profile builds with quarkus-funqy-amazon-lambda, whose handler this is
        assertTrue(PomFile.read().profileDependencies("lambda").contains("io.quarkus:quarkus-funqy-amazon-lambda"),
                "the lambda profile of pom.xml no longer builds with quarkus-funqy-amazon-lambda: " + FUNQY_HANDLER + " is not there");
        assertEquals(List.of(FUNQY_HANDLER), IMAGE.cmd(), DOCKERFILE + ": CMD must name Funqy's handler, in exec form");
    }

    @Test
    void imageCopiesTheLambdaProfilesBuildOutputOntoTheRuntimesClassPath() throws IOException {
        PomFile pom = PomFile.read();
        String buildDir = pom.lambdaBuildDirectory();
        String runnerJar = buildDir + "/" + pom.artifactId() + "-" + pom.version() + "-runner.jar";
        List<String> problems = new ArrayList<>();
        boolean dependencies = false;
        boolean application = false;
        for (ImageFile.Copy copy : IMAGE.copies()) {
            String destination = copy.destination().replace("${LAMBDA_TASK_ROOT}", TASK_ROOT).replace("$LAMBDA_TASK_ROOT", TASK_ROOT);
            for (String source : copy.sources()) {
                String s = trimSlash(source);
                if (!Path.of(s).normalize().startsWith(Path.of(buildDir))) {
                    problems.add("COPY " + source + " is not the lambda profile's build output (" + buildDir + ", <directory> in pom.xml)");
                }
                boolean intoLib = trimSlash(destination).equals(TASK_ROOT + "/lib");
                if (s.equals(buildDir + "/lib")) {
                    dependencies |= intoLib;
                }
                if (glob(s).matcher(runnerJar).matches()) {
                    application |= intoLib && destination.endsWith("/");
                }
            }
        }
        assertTrue(problems.isEmpty(), DOCKERFILE + ":\n" + String.join("\n", problems));
        assertTrue(dependencies, DOCKERFILE + ": COPY " + buildDir + "/lib/ into ${LAMBDA_TASK_ROOT}/lib/ (the dependencies)");
        assertTrue(application, DOCKERFILE + ": COPY the runner jar (" + runnerJar + ") into ${LAMBDA_TASK_ROOT}/lib/ (the application)");
        // BuildKit reads deploy/lambda/Dockerfile.dockerignore for this Dockerfile: it must let those through
        if (Files.exists(DOCKERIGNORE)) {
            List<String> patterns = Files.readAllLines(DOCKERIGNORE).stream().map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
            for (String path : List.of(buildDir + "/lib/any.jar", runnerJar)) {
                assertFalse(ignored(patterns, path), DOCKERIGNORE + " keeps " + path + " out of the build context, which the Dockerfile copies");
            }
        }
    }

    // ---- environment and configuration ----

    @Test
    void captionfnEnvironmentVariablesNameConfigurationKeysThatExist() {
        Set<String> keys = ConfigMappings.getProperties(ConfigMappings.ConfigClass.configClass(CaptionfnConfig.class, "captionfn")).keySet();
        Set<String> knownEnv = keys.stream().map(Manifests::envName).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(knownEnv.containsAll(List.of("CAPTIONFN_MODEL_DIR", "CAPTIONFN_MODEL_INTRA_OP_THREADS", "CAPTIONFN_FETCH_TIMEOUT")),
                "CaptionfnConfig's keys as environment variables: " + knownEnv);
        for (var function : SAM.functions().entrySet()) {
            for (String name : environment(function.getKey()).keySet()) {
                if (name.startsWith("CAPTIONFN_")) {
                    assertTrue(knownEnv.contains(name), function.getKey() + ": " + name + " sets no captionfn key; known: " + knownEnv);
                }
            }
        }
    }

    @Test
    void everyFunctionsEnvironmentConvertsIntoTheApplicationsConfiguration() {
        for (var function : SAM.functions().entrySet()) {
            String name = function.getKey();
            Map<String, String> env = environment(name);
            for (String variable : env.keySet()) {
                assertFalse(RESERVED_VARIABLES.contains(variable), name + ": Lambda sets " + variable + " itself and refuses it in the configuration");
            }
            // what the function would fail on at startup: a value that does not convert ("6 threads", "20 s")
            try {
                assertNotNull(captionfn(env).model(), name);
            } catch (RuntimeException e) {
                fail(name + ": the environment does not make a valid configuration: " + e.getMessage(), e);
            }
        }
    }

    @Test
    void modelDirectoryLiesOnTheEfsFileSystemTheFunctionMountsInItsVpc() {
        for (var function : SAM.functions().entrySet()) {
            String name = function.getKey();
            JsonNode properties = function.getValue();
            Optional<Path> modelDir = captionfn(environment(name)).model().dir();
            assertTrue(modelDir.isPresent(), name + ": set CAPTIONFN_MODEL_DIR, else the function serves the tiny embedded model");
            List<String> mountPaths = new ArrayList<>();
            for (JsonNode fileSystem : properties.path("FileSystemConfigs")) {
                String mountPath = SAM.resolve(fileSystem.path("LocalMountPath"));
                assertNotNull(mountPath, name + ": LocalMountPath does not resolve");
                assertTrue(LOCAL_MOUNT_PATH.matcher(mountPath).matches(), name + ": Lambda mounts file systems at /mnt/<name>, not " + mountPath);
                assertFalse(fileSystem.path("Arn").isMissingNode(), name + ": FileSystemConfigs needs the access point's Arn");
                mountPaths.add(mountPath);
            }
            Path dir = modelDir.get().normalize();
            assertTrue(mountPaths.stream().anyMatch(m -> dir.startsWith(Path.of(m))),
                    name + ": CAPTIONFN_MODEL_DIR " + dir + " lies on no mounted file system " + mountPaths
                            + " (the image itself carries only the tiny model)");
            // Lambda reaches EFS mount targets only from inside the VPC
            JsonNode vpc = properties.path("VpcConfig");
            assertFalse(vpc.path("SubnetIds").isMissingNode() || vpc.path("SecurityGroupIds").isMissingNode(),
                    name + ": a function with FileSystemConfigs needs VpcConfig (SubnetIds and SecurityGroupIds)");
        }
    }

    @Test
    void modelFileSystemIsMountedReadOnly() {
        for (var function : SAM.functions().entrySet()) {
            for (JsonNode policy : function.getValue().path("Policies")) {
                String text = policy.toString();
                assertFalse(text.contains("AmazonElasticFileSystemClientReadWriteAccess") || text.contains("AmazonElasticFileSystemClientFullAccess")
                        || text.contains("elasticfilesystem:ClientWrite") || text.contains("EFSWriteAccessPolicy"),
                        function.getKey() + ": the model is read, never written: no EFS write permission (" + text + ")");
            }
        }
    }

    @Test
    void nativeLibrariesAndCachesAreWrittenUnderTmpTheOnlyWritablePath() {
        List<String> imageOptions = options(IMAGE.env().get("JAVA_TOOL_OPTIONS"));
        for (String name : SAM.functions().keySet()) {
            Map<String, String> env = environment(name);
            List<String> options = options(env.get("JAVA_TOOL_OPTIONS"));
            for (String option : imageOptions) {
                assertTrue(options.contains(option), name + ": its JAVA_TOOL_OPTIONS replaces the image's and drops " + option);
            }
            Map<String, String> writable = new LinkedHashMap<>();
            // ONNX Runtime unpacks its native library into java.io.tmpdir, /tmp unless set
            writable.put("java.io.tmpdir", options.stream().filter(o -> o.startsWith("-Djava.io.tmpdir=")).reduce((a, b) -> b)
                    .map(o -> o.substring("-Djava.io.tmpdir=".length())).orElse("/tmp"));
            // DJL unpacks its tokenizers library there; unset it tries ~/.djl.ai, which is read only on Lambda
            writable.put("DJL_CACHE_DIR", env.get("DJL_CACHE_DIR"));
            captionfn(env).model().extractDir().ifPresent(p -> writable.put("CAPTIONFN_MODEL_EXTRACT_DIR", p.toString()));
            for (var entry : writable.entrySet()) {
                assertNotNull(entry.getValue(), name + ": set " + entry.getKey() + " (in the image or the function) to a directory under /tmp");
                assertTrue(Path.of(entry.getValue()).normalize().startsWith("/tmp"),
                        name + ": " + entry.getKey() + " = " + entry.getValue() + " is not under /tmp, the only writable path on Lambda");
            }
        }
    }

    // ---- sizing ----

    @Test
    void memoryTimeoutAndEphemeralStorageStayWithinLambdasLimits() {
        for (var function : SAM.functions().entrySet()) {
            String name = function.getKey();
            int memory = memoryOf(name);
            int timeout = timeoutOf(name);
            int ephemeral = SAM.resolveInt(function.getValue().path("EphemeralStorage").path("Size"), MIN_EPHEMERAL_MB);
            assertTrue(memory >= MIN_MEMORY_MB && memory <= MAX_MEMORY_MB, name + ": MemorySize " + memory + " outside " + MIN_MEMORY_MB
                    + ".." + MAX_MEMORY_MB + " MB (Lambda's range; a 7B float32 model does not fit at all)");
            assertTrue(timeout >= 1 && timeout <= MAX_TIMEOUT_S, name + ": Timeout " + timeout + " outside 1.." + MAX_TIMEOUT_S + " s");
            assertTrue(ephemeral >= MIN_EPHEMERAL_MB && ephemeral <= MAX_EPHEMERAL_MB,
                    name + ": EphemeralStorage " + ephemeral + " outside " + MIN_EPHEMERAL_MB + ".." + MAX_EPHEMERAL_MB + " MB");
        }
    }

    @Test
    void onnxRuntimeThreadsDoNotOutnumberTheVcpusLambdaGivesAtThatMemory() {
        for (String name : SAM.functions().keySet()) {
            int memory = memoryOf(name);
            int vcpus = Math.min(MAX_VCPUS, (memory + MB_PER_VCPU - 1) / MB_PER_VCPU);
            int intraOp = captionfn(environment(name)).model().intraOpThreads();
            // 0 lets ONNX Runtime count the cores the sandbox shows, which need not be the vCPUs Lambda schedules
            assertTrue(intraOp >= 1, name + ": set CAPTIONFN_MODEL_INTRA_OP_THREADS to the vCPUs (" + vcpus + " at " + memory + " MB)");
            assertTrue(intraOp <= vcpus, name + ": " + intraOp + " intra-op threads on the " + vcpus + " vCPUs Lambda gives at "
                    + memory + " MB (one per " + MB_PER_VCPU + " MB, at most " + MAX_VCPUS + ") only take turns");
        }
    }

    // ---- SQS ----

    @Test
    void sqsEventsReportBatchItemFailuresWhichTheFunctionSends() {
        List<Map.Entry<String, JsonNode>> events = sqsEvents();
        assertFalse(events.isEmpty(), TEMPLATE + ": no function has an SQS event");
        for (var event : events) {
            String name = event.getKey();
            JsonNode properties = event.getValue();
            // without it Lambda ignores Funqy's {"batchItemFailures": [...]} and deletes the failed messages too
            assertTrue(texts(properties.path("FunctionResponseTypes")).contains("ReportBatchItemFailures"),
                    name + ": the SQS event needs FunctionResponseTypes: [ReportBatchItemFailures]");
            SmallRyeConfig config = configOf(environment(name)).getValue();
            for (String key : List.of(FUNQY_SQS_FAILURES, FUNQY_EVENT_HANDLING)) {
                // both default to true in quarkus-funqy-amazon-lambda
                assertTrue(config.getOptionalValue(key, Boolean.class).orElse(true),
                        name + ": " + key + "=false, so the function sends no batchItemFailures the event source could report");
            }
            String queue = SAM.referencedResource(properties.path("Queue"));
            assertNotNull(queue, name + ": the SQS event's Queue must be Fn::GetAtt [<queue>, Arn] of a queue defined in " + TEMPLATE);
            assertEquals(QUEUE, SAM.resources.path(queue).path("Type").asText(), name + ": the SQS event's Queue " + queue + " is not an " + QUEUE);
        }
    }

    @Test
    void sqsBatchesFitWhatOneEnvironmentCaptionsAtOnce() {
        for (var event : sqsEvents()) {
            String name = event.getKey();
            JsonNode properties = event.getValue();
            int batchSize = SAM.resolveInt(properties.path("BatchSize"), 10);
            int window = SAM.resolveInt(properties.path("MaximumBatchingWindowInSeconds"), 0);
            // Funqy runs a batch's messages side by side; past max-in-flight the rest fail OVERLOADED and come back
            int maxInFlight = captionfn(environment(name)).limits().maxInFlight();
            assertTrue(batchSize >= 1 && batchSize <= maxInFlight, name + ": BatchSize " + batchSize
                    + " must lie in 1..captionfn.limits.max-in-flight (" + maxInFlight + ")");
            assertTrue(batchSize <= 10 || window >= 1, name + ": a BatchSize over 10 needs MaximumBatchingWindowInSeconds of 1 or more");
            JsonNode concurrency = properties.path("ScalingConfig").path("MaximumConcurrency");
            if (!concurrency.isMissingNode()) {
                int max = SAM.resolveInt(concurrency, -1);
                assertTrue(max >= 2 && max <= 1000, name + ": ScalingConfig.MaximumConcurrency " + max + " outside 2..1000");
            }
        }
    }

    @Test
    void queueVisibilityTimeoutIsAtLeastSixTimesTheTimeoutOfTheFunctionItFeeds() {
        for (var event : sqsEvents()) {
            String queue = SAM.referencedResource(event.getValue().path("Queue"));
            int timeout = timeoutOf(event.getKey());
            int visibility = SAM.resolveInt(SAM.resources.path(queue).path("Properties").path("VisibilityTimeout"), 30);
            // a message must stay invisible while an invocation (and Lambda's retries of a throttled one) may still run it
            assertTrue(visibility >= VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT * timeout, queue + ": VisibilityTimeout " + visibility + " s < "
                    + VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT + " x the Timeout (" + timeout + " s) of " + event.getKey());
            assertTrue(visibility <= MAX_VISIBILITY_TIMEOUT_S, queue + ": VisibilityTimeout above SQS's maximum of 12 hours");
        }
    }

    @Test
    void queueRedrivesToADeadLetterQueueDefinedHereThatKeepsMessagesLonger() {
        for (var event : sqsEvents()) {
            String queue = SAM.referencedResource(event.getValue().path("Queue"));
            JsonNode properties = SAM.resources.path(queue).path("Properties");
            JsonNode redrive = properties.path("RedrivePolicy");
            assertFalse(redrive.isMissingNode(), queue + ": without a RedrivePolicy a message that always fails is retried until it expires");
            String deadLetters = SAM.referencedResource(redrive.path("deadLetterTargetArn"));
            assertNotNull(deadLetters, queue + ": deadLetterTargetArn must be Fn::GetAtt [<queue>, Arn] of a queue defined in " + TEMPLATE);
            assertEquals(QUEUE, SAM.resources.path(deadLetters).path("Type").asText(), queue + ": the dead-letter target is not an " + QUEUE);
            assertFalse(deadLetters.equals(queue), queue + ": dead-letters to itself");
            int maxReceiveCount = SAM.resolveInt(redrive.path("maxReceiveCount"), -1);
            assertTrue(maxReceiveCount >= MIN_MAX_RECEIVE_COUNT && maxReceiveCount <= 1000, queue + ": maxReceiveCount " + maxReceiveCount
                    + "; AWS advises at least " + MIN_MAX_RECEIVE_COUNT + " for a queue a Lambda function consumes");
            // a standard queue's message keeps its original enqueue time in the dead-letter queue
            int retention = SAM.resolveInt(properties.path("MessageRetentionPeriod"), DEFAULT_RETENTION_S);
            int deadLetterRetention = SAM.resolveInt(SAM.resources.path(deadLetters).path("Properties").path("MessageRetentionPeriod"),
                    DEFAULT_RETENTION_S);
            assertTrue(deadLetterRetention > retention, deadLetters + ": MessageRetentionPeriod " + deadLetterRetention
                    + " s must exceed the source queue's " + retention + " s, or dead letters expire soon after they arrive");
        }
    }

    // ---- where the outcomes go ----

    @Test
    void everyFunctionExportsAFunqyFunctionOfTheLambdaBuildThatTakesWhatItsTriggerSends() throws IOException {
        Map<String, String> funqy = funqyFunctions();
        assertTrue(funqy.containsValue(SQS_MESSAGE), LAMBDA_SOURCES + ": no Funqy function takes " + SQS_MESSAGE + ": " + funqy);
        for (String name : SAM.functions().keySet()) {
            // the environment (QUARKUS_FUNQY_EXPORT) over the lambda build's own configuration files
            String export = configOf(environment(name)).getValue().getOptionalValue(FUNQY_EXPORT, String.class).orElse(null);
            assertNotNull(export, name + ": " + FUNQY_EXPORT + " is not set, and the lambda build has " + funqy.size() + " functions");
            assertTrue(funqy.containsKey(export), name + ": exports '" + export + "', which is none of the lambda build's Funqy functions " + funqy);
            boolean fedBySqs = sqsEvents().stream().anyMatch(e -> e.getKey().equals(name));
            // the SQS event source drops the answer: only the function that takes the whole message publishes it, with its id
            assertEquals(fedBySqs, SQS_MESSAGE.equals(funqy.get(export)), name + (fedBySqs
                    ? ": fed by SQS, it must export the function that takes " + SQS_MESSAGE + " and publishes each outcome, not '" + export + "'"
                    : ": invoked directly, it must export the function that takes the request JSON, not '" + export + "'"));
        }
    }

    @Test
    void sqsFedFunctionsPublishToAResultQueueOfThisTemplateThatTheyMaySendTo() {
        for (var event : sqsEvents()) {
            String name = event.getKey();
            JsonNode function = SAM.functions().get(name);
            JsonNode url = function.path("Environment").path("Variables").path(RESULT_QUEUE_URL);
            String resultQueue = url.has("Ref") ? SAM.referencedResource(url) : null;
            assertNotNull(resultQueue, name + ": set " + RESULT_QUEUE_URL + " to Ref: <queue> of a queue defined here (its URL), or the "
                    + "function does not start; it is " + url);
            assertEquals(QUEUE, SAM.resources.path(resultQueue).path("Type").asText(), name + ": " + resultQueue + " is not an " + QUEUE);
            assertTrue(captionfn(environment(name)).lambda().resultQueueUrl().isPresent(), name);
            // the results must not be read as requests again, nor land among the dead letters
            String requestQueue = SAM.referencedResource(event.getValue().path("Queue"));
            String deadLetters = SAM.referencedResource(SAM.resources.path(requestQueue).path("Properties").path("RedrivePolicy")
                    .path("deadLetterTargetArn"));
            assertFalse(resultQueue.equals(requestQueue) || resultQueue.equals(deadLetters),
                    name + ": publishes to " + resultQueue + ", which is its own request or dead-letter queue");
            // SAM's policy template grants sqs:SendMessage on one queue, named by QueueName
            boolean maySend = false;
            for (JsonNode policy : function.path("Policies")) {
                JsonNode queueName = policy.path("SQSSendMessagePolicy").path("QueueName").path("Fn::GetAtt");
                maySend |= queueName.isArray() && resultQueue.equals(queueName.path(0).asText())
                        && "QueueName".equals(queueName.path(1).asText());
            }
            assertTrue(maySend, name + ": its role may not send to " + resultQueue
                    + ": add SQSSendMessagePolicy with QueueName: Fn::GetAtt [" + resultQueue + ", QueueName] to Policies");
            int retention = SAM.resolveInt(SAM.resources.path(resultQueue).path("Properties").path("MessageRetentionPeriod"), -1);
            assertTrue(retention >= 60 && retention <= MAX_RETENTION_S, resultQueue + ": set MessageRetentionPeriod (60.."
                    + MAX_RETENTION_S + " s): how long the captions wait for their consumer");
        }
    }

    @Test
    void directlyInvokedFunctionsSendTheirAsynchronousOutcomesToQueuesOfTheirOwn() {
        Set<String> requestAndResultQueues = new TreeSet<>();
        for (var event : sqsEvents()) {
            requestAndResultQueues.add(SAM.referencedResource(event.getValue().path("Queue")));
            requestAndResultQueues.add(SAM.referencedResource(SAM.functions().get(event.getKey()).path("Environment").path("Variables")
                    .path(RESULT_QUEUE_URL)));
        }
        for (var function : SAM.functions().entrySet()) {
            String name = function.getKey();
            if (sqsEvents().stream().anyMatch(e -> e.getKey().equals(name))) {
                continue;
            }
            JsonNode config = function.getValue().path("EventInvokeConfig");
            for (String outcome : List.of("OnSuccess", "OnFailure")) {
                JsonNode destination = config.path("DestinationConfig").path(outcome);
                // with Type, SAM adds the role's permission to send there
                assertEquals("SQS", destination.path("Type").asText(), name + ": EventInvokeConfig.DestinationConfig." + outcome
                        + " needs Type: SQS, or an asynchronous invocation's outcome is dropped");
                String queue = SAM.referencedResource(destination.path("Destination"));
                assertNotNull(queue, name + ": " + outcome + ".Destination must be Fn::GetAtt [<queue>, Arn] of a queue defined here");
                assertEquals(QUEUE, SAM.resources.path(queue).path("Type").asText(), name + ": " + queue + " is not an " + QUEUE);
                // Lambda's invocation records are neither requests nor CloudEvents
                assertFalse(requestAndResultQueues.contains(queue), name + ": " + outcome + " sends Lambda's invocation records to "
                        + queue + ", a request or result queue");
            }
            int retries = SAM.resolveInt(config.path("MaximumRetryAttempts"), MAX_ASYNC_RETRIES);
            assertTrue(retries >= 0 && retries <= MAX_ASYNC_RETRIES, name + ": MaximumRetryAttempts " + retries + " outside 0.." + MAX_ASYNC_RETRIES);
            int age = SAM.resolveInt(config.path("MaximumEventAgeInSeconds"), MAX_EVENT_AGE_S);
            assertTrue(age >= MIN_EVENT_AGE_S && age <= MAX_EVENT_AGE_S, name + ": MaximumEventAgeInSeconds " + age + " outside "
                    + MIN_EVENT_AGE_S + ".." + MAX_EVENT_AGE_S);
        }
    }

    @Test
    void outputsNameEveryFunctionAndTheRequestQueue() {
        // Ref gives a function's name and a queue's URL, what `aws lambda invoke` and `aws sqs send-message` take
        Set<String> referenced = new TreeSet<>();
        SAM.root.path("Outputs").forEach(output -> {
            JsonNode value = output.path("Value");
            if (value.has("Ref") && SAM.referencedResource(value) != null) {
                referenced.add(value.path("Ref").asText());
            }
        });
        for (String function : SAM.functions().keySet()) {
            assertTrue(referenced.contains(function), TEMPLATE + ": no output gives " + function + "'s name (Ref), which is generated");
        }
        for (var event : sqsEvents()) {
            String queue = SAM.referencedResource(event.getValue().path("Queue"));
            assertTrue(referenced.contains(queue), TEMPLATE + ": no output gives " + queue + "'s URL (Ref), where requests are sent");
            String results = SAM.referencedResource(SAM.functions().get(event.getKey()).path("Environment").path("Variables")
                    .path(RESULT_QUEUE_URL));
            assertTrue(referenced.contains(results), TEMPLATE + ": no output gives " + results + "'s URL (Ref), where the captions arrive");
        }
        SAM.functions().values().forEach(function -> function.path("EventInvokeConfig").path("DestinationConfig").forEach(d -> {
            String queue = SAM.referencedResource(d.path("Destination"));
            if (queue != null) {
                assertTrue(referenced.contains(queue), TEMPLATE + ": no output gives " + queue + "'s URL (Ref), where asynchronous outcomes arrive");
            }
        }));
    }

    // ---- helpers ----

    /** A function's environment as Lambda starts it: the image's ENV, overridden by the function's variables (Globals merged). */
    private static Map<String, String> environment(String function) {
        Map<String, String> env = new LinkedHashMap<>(IMAGE.env());
        SAM.functions().get(function).path("Environment").path("Variables").properties().forEach(v -> {
            String value = SAM.resolve(v.getValue());
            assertNotNull(value, function + ": environment variable " + v.getKey() + " does not resolve with the parameters' defaults");
            env.put(v.getKey(), value);
        });
        return env;
    }

    /** CaptionfnConfig as the Lambda build reads it, with the function's environment. */
    private static CaptionfnConfig captionfn(Map<String, String> env) {
        return configOf(env).getKey();
    }

    /**
     * The configuration the Lambda build reads: the configuration files on its class path (of the
     * build's resource directories and the lambda profile's), then the environment, with Quarkus's
     * ordinals, the prod profile and Quarkus's converters; mapped to CaptionfnConfig, which fails
     * on a value that does not convert.
     */
    private static Map.Entry<CaptionfnConfig, SmallRyeConfig> configOf(Map<String, String> env) {
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder()
                .addDefaultInterceptors()
                .withProfile("prod")
                .withSources(new EnvConfigSource(env, 300))
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(MemorySize.class, 200, new MemorySizeConverter())
                .withConverter(Path.class, 200, new PathConverter())
                .withMapping(CaptionfnConfig.class);
        try {
            for (String dir : PomFile.read().resourceDirectories("lambda")) {
                Path application = Path.of(dir, "application.properties");
                Path microprofile = Path.of(dir, "META-INF", "microprofile-config.properties");
                if (Files.isRegularFile(application)) {
                    builder.withSources(new PropertiesConfigSource(application.toUri().toURL(), 250));
                }
                if (Files.isRegularFile(microprofile)) {
                    builder.withSources(new PropertiesConfigSource(microprofile.toUri().toURL(), 100));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SmallRyeConfig config = builder.build();
        return Map.entry(config.getConfigMapping(CaptionfnConfig.class), config);
    }

    private static int memoryOf(String function) {
        return SAM.resolveInt(SAM.functions().get(function).path("MemorySize"), 128);
    }

    private static int timeoutOf(String function) {
        return SAM.resolveInt(SAM.functions().get(function).path("Timeout"), 3);
    }

    /** (function, properties of one of its SQS events). */
    private static List<Map.Entry<String, JsonNode>> sqsEvents() {
        List<Map.Entry<String, JsonNode>> events = new ArrayList<>();
        SAM.functions().forEach((name, properties) -> properties.path("Events").forEach(event -> {
            if ("SQS".equals(event.path("Type").asText())) {
                events.add(Map.entry(name, event.path("Properties")));
            }
        }));
        return events;
    }

    /**
     * The lambda build's Funqy functions, by name, with the simple name of the type each takes: read
     * from the sources, which this build does not compile ({@code @Funq("name")}, or a constant of
     * the same file).
     */
    private static Map<String, String> funqyFunctions() throws IOException {
        Pattern funq = Pattern.compile("@Funq\\((?:\"([^\"]+)\"|(\\w+))\\)\\s*public\\s+[^(;]+\\(\\s*(?:final\\s+)?([\\w.]+)\\s+\\w+\\s*\\)");
        Pattern constant = Pattern.compile("static final String (\\w+) = \"([^\"]+)\";");
        Map<String, String> functions = new TreeMap<>();
        try (var files = Files.list(LAMBDA_SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String source = Files.readString(file);
                Map<String, String> constants = new LinkedHashMap<>();
                constant.matcher(source).results().forEach(m -> constants.put(m.group(1), m.group(2)));
                Matcher m = funq.matcher(source);
                while (m.find()) {
                    String name = m.group(1) != null ? m.group(1) : constants.get(m.group(2));
                    assertNotNull(name, file + ": @Funq(" + m.group(2) + ") names no constant of the file");
                    String type = m.group(3);
                    functions.put(name, type.substring(type.lastIndexOf('.') + 1));
                }
            }
        }
        return functions;
    }

    private static List<String> texts(JsonNode array) {
        List<String> list = new ArrayList<>();
        array.forEach(n -> list.add(n.asText()));
        return list;
    }

    private static List<String> options(String value) {
        return value == null || value.isBlank() ? List.of() : Arrays.asList(value.trim().split("\\s+"));
    }



    /** The SAM template as data: resources, parameters' defaults, Globals merged into each function as SAM merges them. */
    static final class Template {
        final JsonNode root;
        final JsonNode resources;
        private final Map<String, JsonNode> functions = new LinkedHashMap<>();

        private Template(JsonNode root) {
            this.root = root;
            this.resources = root.path("Resources");
            JsonNode globals = root.path("Globals").path("Function");
            resources.properties().forEach(r -> {
                if (FUNCTION.equals(r.getValue().path("Type").asText())) {
                    JsonNode own = r.getValue().path("Properties");
                    functions.put(r.getKey(), globals.isMissingNode() ? own : merge(globals, own));
                }
            });
        }

        static Template read(Path file) {
            try {
                return new Template(new YAMLMapper().readTree(file.toFile()));
            } catch (IOException e) {
                throw new UncheckedIOException(file + " does not parse as YAML", e);
            }
        }

        Map<String, JsonNode> functions() {
            return functions;
        }

        /** SAM's Globals rule: maps merge key by key, lists concatenate, anything else (an intrinsic too) the resource's wins. */
        private static JsonNode merge(JsonNode global, JsonNode local) {
            if (local.isMissingNode()) {
                return global.deepCopy();
            }
            if (global.isObject() && local.isObject() && !isIntrinsic(global) && !isIntrinsic(local)) {
                ObjectNode merged = ((ObjectNode) global).deepCopy();
                local.properties().forEach(e -> merged.set(e.getKey(), merge(global.path(e.getKey()), e.getValue())));
                return merged;
            }
            if (global.isArray() && local.isArray()) {
                var merged = new ObjectMapper().createArrayNode();
                merged.addAll((com.fasterxml.jackson.databind.node.ArrayNode) global.deepCopy());
                merged.addAll((com.fasterxml.jackson.databind.node.ArrayNode) local.deepCopy());
                return merged;
            }
            return local;
        }

        private static boolean isIntrinsic(JsonNode node) {
            if (!node.isObject() || node.size() != 1) {
                return false;
            }
            String key = node.fieldNames().next();
            return key.equals("Ref") || key.startsWith("Fn::");
        }

        /** A scalar, a Ref to a parameter (its Default) or an Fn::Sub over parameters; null for anything else. */
        String resolve(JsonNode value) {
            if (value == null || value.isMissingNode() || value.isNull()) {
                return null;
            }
            if (value.isValueNode()) {
                return value.asText();
            }
            if (value.has("Ref") && value.size() == 1) {
                String id = value.path("Ref").asText();
                if (QUEUE.equals(resources.path(id).path("Type").asText())) {
                    // Ref gives a queue's URL, made when the stack is
                    return "https://sqs.eu-west-1.amazonaws.com/123456789012/" + id;
                }
                return parameterDefault(id);
            }
            if (value.has("Fn::Sub") && value.size() == 1) {
                JsonNode sub = value.path("Fn::Sub");
                String text = sub.isArray() ? sub.path(0).asText() : sub.asText();
                JsonNode variables = sub.isArray() ? sub.path(1) : null;
                Matcher m = Pattern.compile("\\$\\{([^}!]+)}").matcher(text);
                StringBuilder out = new StringBuilder();
                while (m.find()) {
                    String replacement = variables != null && variables.has(m.group(1)) ? resolve(variables.path(m.group(1)))
                            : parameterDefault(m.group(1));
                    if (replacement == null) {
                        return null;
                    }
                    m.appendReplacement(out, Matcher.quoteReplacement(replacement));
                }
                m.appendTail(out);
                return out.toString();
            }
            return null;
        }

        int resolveInt(JsonNode value, int absent) {
            if (value == null || value.isMissingNode()) {
                return absent;
            }
            String resolved = resolve(value);
            assertNotNull(resolved, "does not resolve to a number: " + value);
            return Integer.parseInt(resolved.trim());
        }

        private String parameterDefault(String name) {
            JsonNode parameter = root.path("Parameters").path(name);
            return parameter.has("Default") ? parameter.path("Default").asText() : null;
        }

        /** The logical id a Ref or an Fn::GetAtt (list or "Id.Attribute" form) names, if it is a resource of this template. */
        String referencedResource(JsonNode value) {
            String id = null;
            if (value.has("Ref")) {
                id = value.path("Ref").asText();
            } else if (value.has("Fn::GetAtt")) {
                JsonNode att = value.path("Fn::GetAtt");
                id = att.isArray() ? att.path(0).asText() : att.asText().split("\\.")[0];
            }
            return id != null && resources.has(id) ? id : null;
        }
    }

    /** The instructions of deploy/lambda/Dockerfile this test needs: FROM, COPY, CMD, and ENV (through Manifests). */
    record ImageFile(String from, List<Copy> copies, List<String> cmd, Map<String, String> env) {
        record Copy(List<String> sources, String destination) {
        }

        static ImageFile read(Path file) {
            try {
                String from = null;
                List<Copy> copies = new ArrayList<>();
                List<String> cmd = null;
                StringBuilder instruction = new StringBuilder();
                List<String> instructions = new ArrayList<>();
                for (String line : Files.readAllLines(file)) {
                    String l = line.strip();
                    if (l.startsWith("#") || (l.isEmpty() && instruction.isEmpty())) {
                        continue;
                    }
                    if (l.endsWith("\\")) {
                        instruction.append(l, 0, l.length() - 1).append(' ');
                        continue;
                    }
                    instructions.add(instruction.append(l).toString().strip());
                    instruction.setLength(0);
                }
                for (String i : instructions) {
                    String[] parts = i.split("\\s+", 2);
                    String keyword = parts[0].toUpperCase();
                    String arguments = parts.length > 1 ? parts[1] : "";
                    switch (keyword) {
                        case "FROM" -> from = arguments.replaceAll("--platform=\\S+\\s+", "").split("\\s+")[0];
                        case "COPY" -> {
                            List<String> words = new ArrayList<>(Arrays.stream(arguments.split("\\s+")).filter(w -> !w.startsWith("--")).toList());
                            String destination = words.remove(words.size() - 1);
                            copies.add(new Copy(words, destination));
                        }
                        case "CMD" -> {
                            JsonNode array = new ObjectMapper().readTree(arguments);
                            assertTrue(array.isArray(), file + ": CMD in exec form ([\"...\"]), which the Lambda entrypoint passes on as the handler");
                            cmd = texts(array);
                        }
                        default -> {
                        }
                    }
                }
                assertNotNull(from, file + ": no FROM");
                assertNotNull(cmd, file + ": no CMD naming the handler");
                return new ImageFile(from, copies, cmd, Manifests.Dockerfile.read(file).env());
            } catch (IOException e) {
                throw new UncheckedIOException(file + " cannot be read", e);
            }
        }
    }
}
