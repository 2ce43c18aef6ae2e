// Installed in every page a gate opens, before the page's own scripts: counts the work the page has
// outstanding (fetches, their body reads, XHRs, short timers, animation frames) so the gate judges
// a spec only after the callbacks of that work have run. A response arriving is not the end: the
// handler that throws runs after it, in a task of its own, and on a busy machine that task can come
// much later.
(() => {
  if (Object.prototype.hasOwnProperty.call(window, "__triagebotWork")) return;
  const MAX_TIMER_MS = __MAX_TIMER_MS__; // filled in by the adapter: the gate's step timeout
  const realSetTimeout = window.setTimeout.bind(window);
  const realClearTimeout = window.clearTimeout.bind(window);
  const pending = new Map(); // token -> performance.now() when the work began
  let nextToken = 1;
  let changed = performance.now();
  const rearmed = new WeakSet(); // handlers that already ran from a timer: polling loops, not step work

  const begin = () => {
    const token = nextToken++;
    pending.set(token, performance.now());
    changed = performance.now();
    return token;
  };
  // Ended from a task of its own, so the callbacks chained on the settled work (microtasks, and
  // the unhandled-rejection report at the end of their checkpoint) have run before it counts as done.
  const end = (token) => {
    realSetTimeout(() => {
      if (pending.delete(token)) changed = performance.now();
    }, 0);
  };
  // Passes the settlement on through a new promise, so a rejection nobody handles is still reported.
  const tracked = (promise) => {
    const token = begin();
    return new Promise((resolve, reject) => {
      promise.then(
        (value) => { resolve(value); end(token); },
        (error) => { reject(error); end(token); },
      );
    });
  };

  if (typeof window.fetch === "function") {
    const realFetch = window.fetch;
    window.fetch = function fetch(...args) {
      return tracked(realFetch.apply(this, args));
    };
  }
  if (typeof Response === "function") {
    for (const name of ["json", "text", "arrayBuffer", "blob", "formData", "bytes"]) {
      const real = Response.prototype[name];
      if (typeof real !== "function") continue;
      Response.prototype[name] = function (...args) {
        return tracked(real.apply(this, args));
      };
    }
  }
  if (typeof XMLHttpRequest === "function") {
    const realSend = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (...args) {
      const token = begin();
      // `loadend` comes after `load`, `error` and the last `readystatechange`: the app's handlers have run.
      this.addEventListener("loadend", () => end(token), { once: true });
      try {
        return realSend.apply(this, args);
      } catch (error) {
        end(token);
        throw error;
      }
    };
  }

  const timers = new Map(); // timer id -> token
  window.setTimeout = function setTimeout(handler, delay, ...args) {
    const ms = Number(delay) || 0;
    // Long timers and timers re-armed by a handler that already ran (a polling loop) are not the
    // step's work: waiting for them would never end. String handlers pass through untouched.
    if (typeof handler !== "function" || ms > MAX_TIMER_MS || rearmed.has(handler)) {
      return realSetTimeout(handler, delay, ...args);
    }
    const token = begin();
    const id = realSetTimeout(function (...callArgs) {
      timers.delete(id);
      rearmed.add(handler);
      try {
        return handler.apply(this, callArgs);
      } finally {
        end(token);
      }
    }, delay, ...args);
    timers.set(id, token);
    return id;
  };
  window.clearTimeout = function clearTimeout(id) {
    const token = timers.get(id);
    if (token !== undefined) {
      timers.delete(id);
      end(token);
    }
    return realClearTimeout(id);
  };

  // An animation frame is a short timer too: the work a click schedules for the next frame counts.
  if (typeof window.requestAnimationFrame === "function") {
    const realRaf = window.requestAnimationFrame.bind(window);
    const realCancelRaf = window.cancelAnimationFrame.bind(window);
    const frames = new Map(); // frame id -> token
    window.requestAnimationFrame = function requestAnimationFrame(callback) {
      if (typeof callback !== "function" || rearmed.has(callback)) return realRaf(callback);
      const token = begin();
      const id = realRaf((time) => {
        frames.delete(id);
        rearmed.add(callback);
        try {
          return callback(time);
        } finally {
          end(token);
        }
      });
      frames.set(id, token);
      return id;
    };
    window.cancelAnimationFrame = function cancelAnimationFrame(id) {
      const token = frames.get(id);
      if (token !== undefined) {
        frames.delete(id);
        end(token);
      }
      return realCancelRaf(id);
    };
  }

  // Resolves once nothing younger than `maxAgeMs` is outstanding and nothing began or ended for
  // `quietMs`, over at least `ticks` turns of the page's own event loop: a page starved of CPU turns
  // slowly, so the wait grows with the load instead of ending on a fixed clock.
  const settled = (quietMs, ticks, maxAgeMs) =>
    new Promise((resolve) => {
      let turns = 0;
      const check = () => {
        const now = performance.now();
        let busy = false;
        for (const began of pending.values()) {
          if (now - began < maxAgeMs) busy = true;
        }
        turns = busy ? 0 : turns + 1;
        if (!busy && turns >= ticks && now - changed >= quietMs) resolve(true);
        else realSetTimeout(check, Math.max(10, Math.min(50, quietMs / ticks)));
      };
      realSetTimeout(check, 0);
    });

  Object.defineProperty(window, "__triagebotWork", {
    value: Object.freeze({ settled }),
    writable: false,
    configurable: false,
    enumerable: false,
  });
})();
