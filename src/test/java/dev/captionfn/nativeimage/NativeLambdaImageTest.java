package dev.captionfn.nativeimage;

import static dev.captionfn.testing.DockerContext.glob;
import static dev.captionfn.testing.DockerContext.ignored;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.testing.PomFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/lambda/Dockerfile.native and its bootstrap agree with the build they package: the image runs
 * the bootstrap as Lambda's custom runtime, the bootstrap starts the native executable that
 * `./mvnw package -Plambda,native` writes, with the libraries unpacked from the very jars the
 * executable was compiled from, and everything written at run time goes under /tmp. Nothing is
 * built: the files are read as text (there is no GraalVM and no Docker here).
 */
class NativeLambdaImageTest {
    private static final Path DIR = Path.of("deploy", "lambda");
    private static final Path DOCKERFILE = DIR.resolve("Dockerfile.native");
    private static final Path DOCKERIGNORE = DIR.resolve("Dockerfile.native.dockerignore");
    private static final Path BOOTSTRAP = DIR.resolve("bootstrap");

    /** AWS's base image for custom runtimes on Amazon Linux 2023 (glibc 2.34, as the executable and libtokenizers.so need). */
    private static final Pattern PROVIDED_AL2023 = Pattern.compile("public\\.ecr\\.aws/lambda/provided:al2023(?:[.@].*)?");
    /** Where the custom runtime looks for bootstrap: ${LAMBDA_RUNTIME_DIR} of the AWS base images. */
    private static final String RUNTIME_DIR = "/var/runtime";
    private static final String FUNQY_HANDLER = "io.quarkus.funqy.lambda.FunqyStreamHandler::handleRequest";

    private static final List<Stage> STAGES = Stage.read(DOCKERFILE);
    private static final Stage IMAGE = STAGES.get(STAGES.size() - 1);
    private static final String SCRIPT = read(BOOTSTRAP);
    private static final PomFile BUILD = PomFile.read();

    @Test
    void everyStageIsTheLambdaBaseImageForCustomRuntimesOnAmazonLinux2023() {
        for (Stage stage : STAGES) {
            assertTrue(PROVIDED_AL2023.matcher(stage.from()).matches(), DOCKERFILE + ": FROM " + stage.from()
                    + " is not public.ecr.aws/lambda/provided:al2023; Amazon Linux 2 (provided:al2) has glibc 2.26");
        }
        assertEquals(List.of("[\"" + FUNQY_HANDLER + "\"]"), IMAGE.arguments("CMD"), DOCKERFILE + ": CMD must name Funqy's handler, in exec form");
    }

    @Test
    void theRuntimeRunsTheBootstrapWhichStartsTheNativeExecutableOfTheLambdaBuild() {
        String runner = BUILD.lambdaBuildDirectory() + "/" + BUILD.artifactId() + "-" + BUILD.version() + "-runner";
        assertTrue(IMAGE.copies(BOOTSTRAP.toString().replace('\\', '/'), RUNTIME_DIR + "/bootstrap"),
                DOCKERFILE + ": COPY " + BOOTSTRAP + " to ${LAMBDA_RUNTIME_DIR}/bootstrap, the file Lambda's custom runtime runs");
        assertTrue(IMAGE.copies(runner, RUNTIME_DIR + "/runner"),
                DOCKERFILE + ": COPY the lambda build's executable (" + runner + ", <directory> of the lambda profile) to ${LAMBDA_RUNTIME_DIR}/runner");
        assertFalse(IMAGE.copies(runner + ".jar", RUNTIME_DIR + "/runner"), DOCKERFILE + ": the runner COPY also takes the JVM build's runner jar");
        assertTrue(SCRIPT.startsWith("#!/bin/sh\n"), BOOTSTRAP + ": Lambda executes it, so it starts with #!/bin/sh");
        assertTrue(SCRIPT.contains("here=$(dirname \"$0\")"), BOOTSTRAP + ": finds the runner beside itself");
        List<String> execs = execLines();
        assertFalse(execs.isEmpty(), BOOTSTRAP + ": never execs the runner");
        for (String exec : execs) {
            assertTrue(exec.startsWith("exec \"$here/runner\""), BOOTSTRAP + ": " + exec);
        }
    }

    @Test
    void theNativeLibrariesComeFromTheJarsTheExecutableWasCompiledFrom() {
        // Quarkus's native build leaves the jars it compiled in <name>-native-image-source-jar/lib/,
        // each named groupId.artifactId-version.jar (seen in its native-sources output)
        String lib = BUILD.lambdaBuildDirectory() + "/" + BUILD.artifactId() + "-" + BUILD.version() + "-native-image-source-jar/lib/";
        String onnxruntime = lib + "com.microsoft.onnxruntime." + BUILD.property("onnxruntime.artifact") + "-"
                + BUILD.property("onnxruntime.version") + ".jar";
        String tokenizers = lib + "ai.djl.huggingface.tokenizers-" + BUILD.property("djl.version") + ".jar";
        Stage libraries = STAGES.stream().filter(s -> s.copies(onnxruntime, "/jars/")).findFirst().orElse(null);
        assertNotNull(libraries, DOCKERFILE + ": no stage copies " + onnxruntime);
        assertTrue(libraries.copies(tokenizers, "/jars/"), DOCKERFILE + ": " + tokenizers + " is not copied beside " + onnxruntime);
        String unzip = String.join("\n", libraries.arguments("RUN"));
        assertTrue(unzip.contains("'ai/onnxruntime/native/linux-x64/*'") && unzip.contains("native/lib/linux-x86_64/cpu/libtokenizers.so"),
                DOCKERFILE + ": unpacks other files than ONNX Runtime's and DJL's x86-64 Linux libraries");
        assertTrue(IMAGE.arguments("COPY").contains("--from=" + libraries.name() + " /native/ ${LAMBDA_RUNTIME_DIR}/lib/"),
                DOCKERFILE + ": the unpacked libraries go to ${LAMBDA_RUNTIME_DIR}/lib/, where the bootstrap looks for them");
        assertTrue(SCRIPT.contains("RUST_LIBRARY_PATH=\"$here/lib/libtokenizers.so\""), BOOTSTRAP + ": DJL's library is not handed over");
        assertTrue(SCRIPT.contains("-Donnxruntime.native.path=\"$here/lib\""), BOOTSTRAP + ": ONNX Runtime's libraries are not handed over");
    }

    @Test
    void theBootstrapKeepsEverythingWrittenUnderTmpAndDjlFromCallingHome() {
        for (String exec : execLines()) {
            assertTrue(exec.contains(" -Djava.io.tmpdir=/tmp"), BOOTSTRAP + ": " + exec + " (ONNX Runtime writes into java.io.tmpdir)");
        }
        assertTrue(SCRIPT.contains("export DJL_CACHE_DIR=\"${DJL_CACHE_DIR:-/tmp/djl}\""), BOOTSTRAP + ": DJL_CACHE_DIR must default to /tmp/djl");
        assertTrue(SCRIPT.contains("export OPT_OUT_TRACKING=\"${OPT_OUT_TRACKING:-true}\""), BOOTSTRAP + ": OPT_OUT_TRACKING must default to true");
        assertTrue(SCRIPT.contains("export DISABLE_SIGNAL_HANDLERS=true"), BOOTSTRAP + ": Quarkus's native Lambda functions run with DISABLE_SIGNAL_HANDLERS=true");
    }

    @Test
    void theDockerignoreLetsThroughEveryFileTheImageCopiesAndLittleElse() {
        List<String> patterns = read(DOCKERIGNORE).lines().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        String build = BUILD.lambdaBuildDirectory() + "/" + BUILD.artifactId() + "-" + BUILD.version();
        for (String copied : List.of(build + "-runner", BOOTSTRAP.toString().replace('\\', '/'),
                build + "-native-image-source-jar/lib/com.microsoft.onnxruntime.onnxruntime-1.jar",
                build + "-native-image-source-jar/lib/ai.djl.huggingface.tokenizers-1.jar")) {
            assertFalse(ignored(patterns, copied), DOCKERIGNORE + " keeps " + copied + " out of the build context");
        }
        for (String other : List.of("pom.xml", build + "-runner.jar", BUILD.lambdaBuildDirectory() + "/lib/any.jar",
                build + "-native-image-source-jar/lib/io.quarkus.quarkus-core-1.jar")) {
            assertTrue(ignored(patterns, other), DOCKERIGNORE + " sends " + other + " to the builder, which the image never copies");
        }
    }

    private static List<String> execLines() {
        return SCRIPT.lines().map(String::trim).filter(l -> l.startsWith("exec ")).toList();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + " cannot be read", e);
        }
    }


    /** One stage of the Dockerfile: its FROM image, its name (AS) and its instructions, continuation lines joined. */
    record Stage(String from, String name, List<String[]> instructions) {
        static List<Stage> read(Path file) {
            List<Stage> stages = new ArrayList<>();
            StringBuilder instruction = new StringBuilder();
            for (String line : NativeLambdaImageTest.read(file).lines().toList()) {
                String l = line.strip();
                if (l.startsWith("#") || l.isEmpty() && instruction.isEmpty()) {
                    continue;
                }
                if (l.endsWith("\\")) {
                    instruction.append(l, 0, l.length() - 1).append(' ');
                    continue;
                }
                String[] parts = instruction.append(l).toString().strip().split("\\s+", 2);
                instruction.setLength(0);
                String keyword = parts[0].toUpperCase();
                String arguments = parts.length > 1 ? parts[1].replaceAll("\\s+", " ") : "";
                if (keyword.equals("FROM")) {
                    String[] words = arguments.replaceAll("--platform=\\S+\\s+", "").split(" ");
                    stages.add(new Stage(words[0], words.length == 3 && words[1].equalsIgnoreCase("AS") ? words[2] : null, new ArrayList<>()));
                } else {
                    assertFalse(stages.isEmpty(), file + ": " + keyword + " before FROM");
                    stages.get(stages.size() - 1).instructions().add(new String[] {keyword, arguments});
                }
            }
            assertFalse(stages.isEmpty(), file + ": no FROM");
            return stages;
        }

        List<String> arguments(String keyword) {
            return instructions.stream().filter(i -> i[0].equals(keyword)).map(i -> i[1]).toList();
        }

        /** Whether a COPY from the build context takes this file into this destination (a folder when it ends with /). */
        boolean copies(String file, String destination) {
            for (String copy : arguments("COPY")) {
                List<String> words = new ArrayList<>(Arrays.asList(copy.split(" ")));
                if (words.stream().anyMatch(w -> w.startsWith("--from="))) {
                    continue;
                }
                words.removeIf(w -> w.startsWith("--"));
                String to = words.remove(words.size() - 1).replace("${LAMBDA_RUNTIME_DIR}", RUNTIME_DIR);
                if (to.equals(destination) && words.stream().anyMatch(source -> glob(source).matcher(file).matches())) {
                    return true;
                }
            }
            return false;
        }
    }
}
