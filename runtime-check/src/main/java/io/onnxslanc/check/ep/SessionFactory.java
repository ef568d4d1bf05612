package io.onnxslanc.check.ep;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import io.onnxslanc.check.model.ModelSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Makes ORT sessions with one execution-provider choice, one optimisation level (default BASIC, so that FP32
 * and FP16 variants get the same fusions) and pass-through CUDA provider options
 * (e.g. enable_skip_layer_norm_strict_mode=1) and session config entries. Every check (parity, emulation, norm
 * probes, perplexity) opens its sessions here, so that one command-line choice of provider applies to all of them.
 */
public final class SessionFactory {

    /** Extra per-session settings, e.g. where to save the optimised model. */
    @FunctionalInterface
    public interface OptionsTweak {
        void apply(OrtSession.SessionOptions options) throws OrtException;
    }

    /** Registers the CUDA provider; replaceable in tests. */
    @FunctionalInterface
    interface CudaLoader {
        void add(OrtSession.SessionOptions options, Map<String, String> cudaOptions) throws OrtException;
    }

    static final CudaLoader ORT_CUDA = (options, cudaOptions) -> {
        OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions();
        for (Map.Entry<String, String> e : cudaOptions.entrySet()) cuda.add(e.getKey(), e.getValue());
        options.addCUDA(cuda); // the session options own and close the provider options
    };

    private static final String EXTERNAL_DATA_FOLDER = "session.model_external_initializers_file_folder_path";

    private final ProviderChoice providers;
    private final OptLevel optLevel;
    private final Map<String, String> cudaOptions;
    private final Map<String, String> sessionConfig;
    private final CudaLoader cudaLoader;

    public SessionFactory(ProviderChoice providers, OptLevel optLevel, Map<String, String> cudaOptions,
                          Map<String, String> sessionConfig) {
        this(providers, optLevel, cudaOptions, sessionConfig, ORT_CUDA);
    }

    SessionFactory(ProviderChoice providers, OptLevel optLevel, Map<String, String> cudaOptions,
                   Map<String, String> sessionConfig, CudaLoader cudaLoader) {
        this.providers = providers;
        this.optLevel = optLevel;
        this.cudaOptions = new LinkedHashMap<>(cudaOptions);
        this.sessionConfig = new LinkedHashMap<>(sessionConfig);
        this.cudaLoader = cudaLoader;
    }

    /** CPU provider at BASIC optimisation. */
    public static SessionFactory cpu() {
        return new SessionFactory(ProviderChoice.CPU, OptLevel.BASIC_OPT, Map.of(), Map.of());
    }

    public SessionFactory withOptLevel(OptLevel level) {
        return new SessionFactory(providers, level, cudaOptions, sessionConfig, cudaLoader);
    }

    public OptLevel optLevel() {
        return optLevel;
    }

    public ProviderChoice providers() {
        return providers;
    }

    /** Parses disable_all (or none), basic, extended, layout, all. */
    public static OptLevel parseOptLevel(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "disable_all", "none", "no_opt", "0" -> OptLevel.NO_OPT;
            case "basic", "1" -> OptLevel.BASIC_OPT;
            case "extended", "2" -> OptLevel.EXTENDED_OPT;
            case "layout", "3" -> OptLevel.LAYOUT_OPT;
            case "all", "99" -> OptLevel.ALL_OPT;
            default -> throw new IllegalArgumentException("unknown optimisation level '" + s
                    + "' (use disable_all, basic, extended, layout or all)");
        };
    }

    public static String optLevelName(OptLevel l) {
        return switch (l) {
            case NO_OPT -> "disable_all";
            case BASIC_OPT -> "basic";
            case EXTENDED_OPT -> "extended";
            case LAYOUT_OPT -> "layout";
            case ALL_OPT -> "all";
        };
    }

    public OpenedSession open(ModelSource source) {
        return open(source, null);
    }

    public OpenedSession open(ModelSource source, OptionsTweak tweak) {
        if (source.model() != null && source.externalDataDir() == null
                && source.model().getGraph().getInitializerList().stream().anyMatch(ModelSource::isExternal))
            throw new IllegalArgumentException(source.label() + ": in-memory model references external data but no folder "
                    + "was given; read it with ModelSource.read(path) or open the file itself");
        OrtEnvironment env = OrtLogging.environment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        boolean ok = false;
        try {
            List<String> warnings = new ArrayList<>();
            String provider = configure(options, warnings);
            if (source.externalDataDir() != null)
                options.addConfigEntry(EXTERNAL_DATA_FOLDER, source.externalDataDir().toAbsolutePath().toString());
            if (tweak != null) tweak.apply(options);
            OrtSession session = source.model() != null
                    ? env.createSession(source.model().toByteArray(), options)
                    : env.createSession(source.path().toString(), options);
            ok = true;
            RunInfo info = new RunInfo(env.getVersion(), providers.toString(), provider, optLevelName(optLevel), warnings);
            return new OpenedSession(session, options, info);
        } catch (OrtException e) {
            throw new IllegalArgumentException(source.label() + ": ONNX Runtime cannot load the model: " + e.getMessage(), e);
        } finally {
            if (!ok) options.close();
        }
    }

    /** Sets level, config and providers; returns the provider that will hold the graph. */
    private String configure(OrtSession.SessionOptions options, List<String> warnings) throws OrtException {
        options.setOptimizationLevel(optLevel);
        OrtLogging.apply(options);
        for (Map.Entry<String, String> e : sessionConfig.entrySet()) options.addConfigEntry(e.getKey(), e.getValue());
        if (!providers.wantsCuda()) {
            if (!cudaOptions.isEmpty()) warnings.add("CUDA provider options " + cudaOptions.keySet() + " ignored: CUDA not requested");
            return "CPU";
        }
        try {
            cudaLoader.add(options, cudaOptions);
            return "CUDA";
        } catch (OrtException | RuntimeException | LinkageError e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (!providers.allowsCpu()) throw new CudaUnavailableException(why, e);
            // the options object is still usable: ORT's CPU provider is always registered last
            warnings.add("CUDA could not be loaded (" + why.strip() + "); fell back to the CPU provider");
            return "CPU";
        }
    }
}
