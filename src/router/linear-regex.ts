// JavaScript regexes backtrack: a route pattern such as `/api/(a+)+b` and a path of 40 `a`s
// would block the event loop for hours, where the Gateway API's reference syntax (RE2) runs
// in time linear in the input. V8 can run a regex on a linear-time engine instead; with these
// flags it falls back to that engine once a match backtracks too much (normal matches keep
// the fast backtracking engine), and it can tell which patterns the linear engine cannot run:
// the ones with backreferences or lookarounds, which RE2 does not have either. The config
// refuses those, so every pattern from the config is bounded. The flags are process-wide and
// must be set before the regexes they protect are compiled: every module that compiles a
// pattern from the config imports this one.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--enable-experimental-regexp-engine");
setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");

/** Why `pattern` (as a full match) cannot be matched in linear time, or undefined when it can. */
export function linearTimeProblem(pattern: string): string | undefined {
  try {
    new RegExp(`^(?:${pattern})$`, "l");
    return undefined;
  } catch (err) {
    const message = (err as Error).message;
    return message.includes("linear time") ? "it uses a backreference or a lookaround" : undefined;
  }
}
