// One request hook run on every signal, each on its own. A bug that makes the tracer throw
// must not cost the access log or the metrics their record of the request, and the metrics
// pair every start with its end (the in-flight tally that keeps a retired resource exported
// until its requests have ended). The first error is rethrown once all have run, so the
// proxy still counts and reports it.

/** A hook taking up to three arguments, as the request hooks do. */
type SignalHook = (...args: never[]) => void;
type Untyped = (a: unknown, b: unknown, c: unknown) => void;

export function eachSignal<H extends SignalHook>(hooks: readonly H[]): H {
  if (hooks.length === 1) return hooks[0]!;
  const calls = hooks as readonly SignalHook[] as readonly Untyped[];
  // Fixed arity rather than rest parameters: no arguments array per request.
  const all: Untyped = (a, b, c) => {
    let failed = false;
    let first: unknown;
    for (let i = 0; i < calls.length; i++) {
      try {
        calls[i]!(a, b, c);
      } catch (error) {
        if (!failed) {
          failed = true;
          first = error;
        }
      }
    }
    if (failed) throw first;
  };
  return all as unknown as H;
}
