// Runs the effects of a decision, strictly in order: a `persist` is durable before the next
// effect begins, so a crash between any two effects leaves a state the restart table handles.

import type { SlotName } from '../../slots/paths.ts';
import type { SystemState } from '../../slots/state.ts';
import type { SupervisorEvent } from '../../ipc/protocol.ts';
import type { Effect } from './effects.ts';

export interface EffectPorts {
  persist(state: SystemState): void;
  flipCurrent(slot: SlotName): void;
  clearCurrent(): void;
  startApp(slot: SlotName): Promise<void>;
  stopApp(): Promise<void>;
  killOrphan(): Promise<void>;
  reboot(): void;
  emit(event: SupervisorEvent): void;
  log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>): void;
}

/** Performs `effects` one after the other; the first failure stops the sequence and is thrown. */
export async function runEffects(effects: readonly Effect[], ports: EffectPorts): Promise<void> {
  for (const effect of effects) {
    switch (effect.type) {
      case 'persist':
        ports.persist(effect.state);
        break;
      case 'flip-current':
        ports.flipCurrent(effect.slot);
        break;
      case 'clear-current':
        ports.clearCurrent();
        break;
      case 'start-app':
        await ports.startApp(effect.slot);
        break;
      case 'stop-app':
        await ports.stopApp();
        break;
      case 'kill-orphan':
        await ports.killOrphan();
        break;
      case 'reboot':
        ports.reboot();
        break;
      case 'emit':
        ports.emit(effect.event);
        break;
      case 'log':
        ports.log(effect.level, effect.event, effect.fields);
        break;
    }
  }
}
