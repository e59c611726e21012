// A one-line progress display on stderr while layers download and analyze; only on a TTY.
import type { LayerRef } from '@strata/model';

type LayerState = 'cached' | 'analyzing' | 'done' | 'failed';

export function layerProgress(stream: NodeJS.WriteStream): {
  onLayer(event: { layer: LayerRef; index: number; state: LayerState }): void;
  finish(): void;
} {
  if (!stream.isTTY) return { onLayer: () => undefined, finish: () => undefined };
  const states = new Map<number, LayerState>();
  let total = 0;
  const draw = () => {
    const count = (s: LayerState) => [...states.values()].filter((v) => v === s).length;
    const finished = count('done') + count('cached') + count('failed');
    stream.write(
      `\r\x1b[2Klayers ${finished}/${total || '?'}  analyzing ${count('analyzing')}  cached ${count('cached')}` +
        (count('failed') ? `  failed ${count('failed')}` : ''),
    );
  };
  return {
    onLayer(event) {
      total = Math.max(total, event.index + 1);
      states.set(event.index, event.state);
      draw();
    },
    finish() {
      if (states.size > 0) stream.write('\r\x1b[2K');
    },
  };
}
