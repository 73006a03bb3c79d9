using Bff.Bench;

// bench/run.sh drives these; each runs until stopped (servers) or until its work is done (sign-in).
return args.FirstOrDefault() switch
{
    "upstream" => await EchoUpstream.RunAsync(args[1..]),
    "yarp" => await PlainYarp.RunAsync(args[1..]),
    "signin" => await SignIn.RunAsync(args[1..]),
    "dpop" => DPoPProofCost.Run(args[1..]),
    "memory" => await SessionMemory.RunAsync(args[1..]),
    "provider" => await StubProvider.RunAsync(args[1..]),
    "refresh-storm" => await RefreshStorm.RunAsync(args[1..]),
    "signin-wave" => await SignInWave.RunAsync(args[1..]),
    "oidc-app" => await BaselineOidcApp.RunAsync(args[1..]),
    "otlp" => await FakeOtlpReceiver.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Bff.Bench upstream --urls URL
               Bff.Bench yarp --urls URL --upstream URL
               Bff.Bench signin --gateway URL --count N [--parallel P] [--user U --password P] --cookie-out FILE
               Bff.Bench dpop [--iterations N] [--algorithm ES256|RS256|PS256]
               Bff.Bench memory [--sessions N] [--shapes "demo keycloak entra"] [--redis HOST:PORT]
               Bff.Bench provider [--ports N]
               Bff.Bench refresh-storm --host BFF_HOST_BIN_DIR --redis HOST:PORT [--sessions 1000] [--replicas 3] [--in-flight 200] [--refresh-delay-ms 20]
               Bff.Bench signin-wave --host BFF_HOST_BIN_DIR [--users 1000] [--concurrency 32] [--rounds 2] [--warmup 200]
               Bff.Bench oidc-app --authority URL --urls URL
               Bff.Bench otlp --urls URL
        """);
    return 2;
}
