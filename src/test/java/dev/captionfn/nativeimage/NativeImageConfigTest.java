package dev.captionfn.nativeimage;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.captionfn.modeldir.EmbeddedModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The native-image configuration in src/main/resources/META-INF/native-image/dev.captionfn/captionfn
 * names only what exists, and covers what ONNX Runtime's, DJL's and webp-imageio's native libraries
 * and loaders ask for. No native executable is built (GraalVM cannot be installed where this project is built), so
 * this is the check that is possible: the configuration against the class path of this build, and
 * against the native libraries themselves, read from the jars they ship in.
 */
class NativeImageConfigTest {
    private static final String DIR = "META-INF/native-image/dev.captionfn/captionfn/";
    private static final ClassLoader LOADER = NativeImageConfigTest.class.getClassLoader();

    /** ONNX Runtime's x86-64 Linux libraries: OnnxRuntime.init() copies them out of this folder of the class path. */
    private static final String ORT_NATIVE = "ai/onnxruntime/native/linux-x64/";
    private static final String ORT_JNI_LIBRARY = ORT_NATIVE + "libonnxruntime4j_jni.so";
    private static final List<String> ORT_LIBRARIES = List.of(ORT_NATIVE + "libonnxruntime.so", ORT_JNI_LIBRARY);
    /** DJL's LibUtils: the platform file, then native/lib/<classifier>/<flavor>/libtokenizers.so. */
    private static final String TOKENIZERS_LIBRARY = "native/lib/linux-x86_64/cpu/libtokenizers.so";
    private static final List<String> TOKENIZERS_RESOURCES = List.of("native/lib/tokenizers.properties", TOKENIZERS_LIBRARY);
    /**
     * The execution-provider libraries onnxruntime_gpu-1.23.2.jar adds under linux-x64 (unzip -l);
     * the gpu profile's class path has them, this build's does not. OnnxRuntime.init() unpacks the
     * shared one whenever it is there, the others when a session asks for CUDA or TensorRT.
     */
    private static final List<String> GPU_ONLY_RESOURCES = List.of(ORT_NATIVE + "libonnxruntime_providers_shared.so",
            ORT_NATIVE + "libonnxruntime_providers_cuda.so", ORT_NATIVE + "libonnxruntime_providers_tensorrt.so");
    /** webp-imageio's NativeLoader: the version file, then native/<OS>/<arch>/libwebp-imageio.so. */
    private static final String WEBP_LIBRARY = "native/Linux/x86_64/libwebp-imageio.so";
    private static final List<String> WEBP_RESOURCES = List.of("webp-imageio.properties", WEBP_LIBRARY);
    /** JNA's native half. Left out on purpose (native-image.properties says why). */
    private static final String JNA_DISPATCH = "com/sun/jna/linux-x86-64/libjnidispatch.so";
    /** The libraries whose classes call native code; their static initialisers load it. */
    private static final List<String> NATIVE_PACKAGES = List.of("ai/onnxruntime/", "ai/djl/huggingface/tokenizers/",
            "com/luciad/imageio/webp/");
    /**
     * The other classes whose static initialisers load a native library (DJL's tokenizers loader,
     * its CUDA probe through JNA, JNA itself) or set DJL's switches (TokenizerJson).
     */
    private static final List<String> STATIC_LOADERS = List.of("ai.djl.huggingface.tokenizers.jni.LibUtils",
            "ai.djl.util.cuda.CudaUtils", "com.sun.jna.Native", "dev.captionfn.text.TokenizerJson");

    private static final Set<String> RESOURCES = classPathResources();
    private static final JsonNode JNI = json("jni-config.json");
    private static final List<Pattern> RESOURCE_PATTERNS = resourcePatterns();
    private static final List<String> RUN_TIME = runTimeInitialised(DIR + "native-image.properties");

    @Test
    void jniConfigNamesOnlyClassesAndMembersThatExist() {
        List<String> missing = new ArrayList<>();
        for (JsonNode entry : JNI) {
            String name = entry.path("name").asText();
            Class<?> type = load(name);
            if (type == null) {
                missing.add("class " + name);
                continue;
            }
            for (JsonNode method : entry.path("methods")) {
                String member = method.path("name").asText();
                Class<?>[] parameters = parameterTypes(method);
                try {
                    if (member.equals("<init>")) {
                        type.getDeclaredConstructor(parameters);
                    } else {
                        type.getDeclaredMethod(member, parameters);
                    }
                } catch (NoSuchMethodException e) {
                    missing.add(name + "." + member + Arrays.toString(parameters));
                }
            }
            for (JsonNode field : entry.path("fields")) {
                try {
                    type.getDeclaredField(field.path("name").asText());
                } catch (NoSuchFieldException e) {
                    missing.add(name + "." + field.path("name").asText());
                }
            }
        }
        assertTrue(missing.isEmpty(), DIR + "jni-config.json names what the class path does not have:\n" + String.join("\n", missing));
    }

    @Test
    void jniConfigCoversEveryClassAndConstructorTheNativeLibrariesLookUp() {
        Set<String> classes = new TreeSet<>();
        Set<String> constructors = new TreeSet<>();
        for (JsonNode entry : JNI) {
            classes.add(entry.path("name").asText().replace('.', '/'));
            for (JsonNode method : entry.path("methods")) {
                if (method.path("name").asText().equals("<init>")) {
                    constructors.add(descriptor(parameterTypes(method)));
                }
            }
        }
        List<String> problems = new ArrayList<>();
        Map<String, String> libraries = new LinkedHashMap<>();
        for (String library : List.of(ORT_JNI_LIBRARY, TOKENIZERS_LIBRARY, WEBP_LIBRARY)) {
            libraries.put(library, text(library));
        }
        for (var library : libraries.entrySet()) {
            // FindClass and GetMethodID take plain C strings, which lie in the library as they are
            Matcher signature = Pattern.compile("\\((?:\\[*(?:[ZBCSIJFD]|L[\\w/$]+;))*\\)V").matcher(library.getValue());
            while (signature.find()) {
                if (!constructors.contains(signature.group())) {
                    problems.add(library.getKey() + " looks up a constructor " + signature.group() + " that jni-config.json does not register");
                }
            }
            // class names inside those signatures are parameter types, not lookups
            String lookups = signature.replaceAll(" ");
            Matcher name = Pattern.compile("(?:ai/onnxruntime|ai/djl|java|javax)/[\\w/$]+").matcher(lookups);
            while (name.find()) {
                String found = name.group();
                // Rust (libtokenizers) does not end its strings with NUL, so a class name can run into
                // the next string, which starts in lower case; a capital goes on naming the class
                String registered = classes.stream().filter(found::startsWith).max(Comparator.comparingInt(String::length)).orElse(null);
                if (registered == null || found.length() > registered.length() && !Character.isLowerCase(found.charAt(registered.length()))) {
                    problems.add(library.getKey() + " finds class " + found + ", which jni-config.json does not register");
                }
            }
        }
        for (String registered : classes) {
            if (libraries.values().stream().noneMatch(text -> text.contains(registered))) {
                problems.add("jni-config.json registers " + registered + ", which neither native library looks up");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everyResourcePatternMatchesAResourceOfThisClassPathOrOfTheGpuBuild() {
        List<String> unmatched = new ArrayList<>();
        for (Pattern pattern : RESOURCE_PATTERNS) {
            boolean here = RESOURCES.stream().anyMatch(r -> pattern.matcher(r).matches());
            boolean gpu = GPU_ONLY_RESOURCES.stream().anyMatch(r -> pattern.matcher(r).matches());
            if (!here && !gpu) {
                unmatched.add(pattern.pattern());
            }
        }
        assertTrue(unmatched.isEmpty(), DIR + "resource-config.json has patterns that include nothing:\n" + String.join("\n", unmatched));
    }

    @Test
    void theFilesTheLoadersReadAtRunTimeAreInTheExecutable() {
        List<String> wanted = new ArrayList<>();
        wanted.addAll(ORT_LIBRARIES);
        wanted.addAll(TOKENIZERS_RESOURCES);
        wanted.addAll(WEBP_RESOURCES);
        RESOURCES.stream().filter(r -> r.startsWith(EmbeddedModel.RESOURCE_DIR)).forEach(wanted::add);
        assertTrue(RESOURCES.contains(EmbeddedModel.RESOURCE_DIR + "model.json"), "the embedded model is not on the class path");
        List<String> problems = new ArrayList<>();
        for (String resource : wanted) {
            if (!RESOURCES.contains(resource)) {
                problems.add(resource + " is not on the class path (has its library moved it?)");
            } else if (!included(resource)) {
                problems.add(resource + " is matched by no pattern of resource-config.json");
            }
        }
        for (String resource : GPU_ONLY_RESOURCES) {
            if (!included(resource)) {
                problems.add(resource + " (onnxruntime_gpu) is matched by no pattern of resource-config.json");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void onlyTheLinuxX8664LibrariesAreEmbeddedAndNotJnasOwn() {
        List<String> others = RESOURCES.stream()
                .filter(r -> r.startsWith("ai/onnxruntime/native/") || r.startsWith("native/"))
                .filter(r -> !r.startsWith(ORT_NATIVE) && !TOKENIZERS_RESOURCES.contains(r) && !WEBP_RESOURCES.contains(r))
                .filter(NativeImageConfigTest::included)
                .toList();
        assertTrue(others.isEmpty(), "libraries an x86-64 Linux executable cannot load would be embedded: " + others);
        assertTrue(RESOURCES.contains(JNA_DISPATCH), "JNA's library has moved; revisit the JNA note in native-image.properties");
        assertFalse(included(JNA_DISPATCH), JNA_DISPATCH + " must stay out: DJL's CUDA probe relies on JNA failing to load");
    }

    @Test
    void everyClassNamedForRunTimeInitialisationExists() {
        List<String> missing = new ArrayList<>();
        for (String name : RUN_TIME) {
            boolean isClass = load(name) != null;
            String folder = name.replace('.', '/') + "/";
            boolean isPackage = RESOURCES.stream().anyMatch(r -> r.startsWith(folder) && r.endsWith(".class"));
            if (!isClass && !isPackage) {
                missing.add(name);
            }
        }
        assertTrue(missing.isEmpty(), "--initialize-at-run-time names neither a class nor a package of the class path: " + missing);
    }

    @Test
    void everyClassThatLoadsOrCallsANativeLibraryIsInitialisedAtRunTime() {
        List<String> missing = new ArrayList<>();
        for (String resource : RESOURCES) {
            if (!resource.endsWith(".class") || NATIVE_PACKAGES.stream().noneMatch(resource::startsWith)) {
                continue;
            }
            Class<?> type = load(resource.substring(0, resource.length() - ".class".length()).replace('/', '.'));
            assertNotNull(type, resource);
            if (Arrays.stream(type.getDeclaredMethods()).noneMatch(m -> Modifier.isNative(m.getModifiers()))) {
                continue;
            }
            // a class is initialised after its superclasses, and the library's own ones load it too
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                String folder = c.getName().replace('.', '/');
                if (NATIVE_PACKAGES.stream().anyMatch(folder::startsWith) && !initialisedAtRunTime(c.getName())) {
                    missing.add(c.getName());
                }
            }
        }
        for (String loader : STATIC_LOADERS) {
            assertNotNull(load(loader), loader);
            if (!initialisedAtRunTime(loader)) {
                missing.add(loader);
            }
        }
        assertTrue(missing.isEmpty(), "call or load native code from their static initialisers, but are not initialised at run time: "
                + new TreeSet<>(missing));
    }

    @Test
    void nothingRepeatsDjlsOwnNativeImageConfiguration() {
        List<String> djl = runTimeInitialised("META-INF/native-image/ai/djl/api/native-image.properties");
        assertFalse(djl.isEmpty(), "DJL's api jar no longer carries its native-image.properties");
        List<String> repeated = RUN_TIME.stream().filter(djl::contains).toList();
        assertTrue(repeated.isEmpty(), "already in DJL's own native-image.properties: " + repeated);
    }

    // ---- the configuration ----

    private static JsonNode json(String file) {
        try (InputStream in = LOADER.getResourceAsStream(DIR + file)) {
            assertNotNull(in, DIR + file + " is not on the class path");
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(DIR + file + " does not parse as JSON", e);
        }
    }

    /** GraalVM's resource-config.json: {"resources": {"includes": [{"pattern": regex}]}}, matched against the whole resource name. */
    private static List<Pattern> resourcePatterns() {
        List<Pattern> patterns = new ArrayList<>();
        json("resource-config.json").path("resources").path("includes").forEach(p -> patterns.add(Pattern.compile(p.path("pattern").asText())));
        assertFalse(patterns.isEmpty(), DIR + "resource-config.json includes nothing");
        return patterns;
    }

    private static boolean included(String resource) {
        return RESOURCE_PATTERNS.stream().anyMatch(p -> p.matcher(resource).matches());
    }

    /** The classes and packages of every --initialize-at-run-time in a native-image.properties' Args. */
    private static List<String> runTimeInitialised(String file) {
        Properties properties = new Properties();
        try (InputStream in = LOADER.getResourceAsStream(file)) {
            assertNotNull(in, file + " is not on the class path");
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> names = new ArrayList<>();
        for (String arg : properties.getProperty("Args", "").trim().split("\\s+")) {
            if (arg.startsWith("--initialize-at-run-time=")) {
                names.addAll(Arrays.asList(arg.substring(arg.indexOf('=') + 1).split(",")));
            }
        }
        return names;
    }

    /** GraalVM's rule: a class is named, or one of the packages it lies in (at any depth). */
    private static boolean initialisedAtRunTime(String className) {
        return RUN_TIME.stream().anyMatch(n -> className.equals(n) || className.startsWith(n + "."));
    }

    // ---- the class path ----

    /** Every file of every class-path entry: the folders (target/classes, ...) and the jars. */
    private static Set<String> classPathResources() {
        Set<String> names = new TreeSet<>();
        try {
            for (URL root : Collections.list(LOADER.getResources(""))) {
                if (root.getProtocol().equals("file")) {
                    Path dir = Path.of(root.toURI());
                    try (Stream<Path> files = Files.walk(dir)) {
                        files.filter(Files::isRegularFile).forEach(f -> names.add(dir.relativize(f).toString().replace('\\', '/')));
                    }
                }
            }
            // every jar has a manifest; this also finds jars that a surefire manifest-only jar lists
            for (URL manifest : Collections.list(LOADER.getResources("META-INF/MANIFEST.MF"))) {
                if (manifest.getProtocol().equals("jar")) {
                    String path = manifest.getPath();
                    try (ZipFile jar = new ZipFile(Path.of(new URI(path.substring(0, path.indexOf("!/")))).toFile())) {
                        jar.stream().filter(e -> !e.isDirectory()).forEach(e -> names.add(e.getName()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }

    private static String text(String resource) {
        try (InputStream in = LOADER.getResourceAsStream(resource)) {
            assertNotNull(in, resource + " is not on the class path");
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Class<?> load(String name) {
        try {
            return Class.forName(name, false, LOADER);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    private static Class<?>[] parameterTypes(JsonNode method) {
        List<Class<?>> types = new ArrayList<>();
        method.path("parameterTypes").forEach(t -> types.add(type(t.asText())));
        return types.toArray(Class<?>[]::new);
    }

    /** A parameter type as jni-config.json writes it: a primitive, a class name, either with [] per dimension. */
    private static Class<?> type(String name) {
        if (name.endsWith("[]")) {
            return type(name.substring(0, name.length() - 2)).arrayType();
        }
        Class<?> type = switch (name) {
            case "boolean" -> boolean.class;
            case "byte" -> byte.class;
            case "char" -> char.class;
            case "short" -> short.class;
            case "int" -> int.class;
            case "long" -> long.class;
            case "float" -> float.class;
            case "double" -> double.class;
            default -> load(name);
        };
        assertNotNull(type, "jni-config.json: no type " + name);
        return type;
    }

    /** The JVM descriptor of a constructor with these parameters, as JNI's GetMethodID takes it. */
    private static String descriptor(Class<?>[] parameters) {
        StringBuilder descriptor = new StringBuilder("(");
        for (Class<?> p : parameters) {
            descriptor.append(p.descriptorString());
        }
        return descriptor.append(")V").toString();
    }
}
