import { useRef } from 'react';
import { WINDOW_CHOICES } from '../../core/image/intensity';
import { SELECTION_LABELS, type SelectionRule } from '../../core/models/selection';
import { prettyName } from '../../core/io/labels';
import { useCompareStore } from '../../state/compare';
import { useActions } from '../context';
import { ModelSlot } from './ModelSlot';

const RULES: SelectionRule[] = ['predicted-iou', 'first', 'oracle', 'single'];

export function SidePanel() {
  const actions = useActions();
  const s = useCompareStore();
  const imageRef = useRef<HTMLInputElement>(null);
  const gtRef = useRef<HTMLInputElement>(null);
  const study = s.study;
  const nSlices = study?.dims[2] ?? 0;
  const structure = study?.structures.find((x) => x.value === s.structure);
  return (
    <aside className="side" data-testid="side-panel">
      <section>
        <h2>Study</h2>
        <div className="row wrap">
          <button onClick={() => imageRef.current?.click()} data-testid="open-image">
            Open image…
          </button>
          <button onClick={() => gtRef.current?.click()} disabled={!study} data-testid="open-gt">
            Open ground truth…
          </button>
          <button onClick={() => void actions.openSample()} data-testid="open-sample">
            Sample CT
          </button>
          <input
            ref={imageRef}
            type="file"
            multiple
            hidden
            data-testid="image-input"
            onChange={(e) => {
              const f = [...(e.target.files ?? [])];
              e.target.value = '';
              void actions.openFiles(f, 'auto');
            }}
          />
          <label
            className="small"
            title="Accept DICOM files without a preamble or meta header, or with element lengths that break their VR. Every file read so is noted on the study."
          >
            <input
              type="checkbox"
              checked={s.lenientDicom}
              onChange={(e) => actions.setLenientDicom(e.target.checked)}
              data-testid="lenient-dicom"
            />{' '}
            read non-conforming DICOM leniently
          </label>
          <input
            ref={gtRef}
            type="file"
            multiple
            hidden
            data-testid="gt-input"
            onChange={(e) => {
              const f = [...(e.target.files ?? [])];
              e.target.value = '';
              void actions.openFiles(f, 'gt');
            }}
          />
        </div>
        {study ? (
          <div className="study-info" data-testid="study-info">
            <div className="name">{study.name}</div>
            <div className="muted">
              {study.format.toUpperCase()} · {study.dims.join('×')} ·{' '}
              {study.spacingKnown
                ? `${study.spacing.map((x) => x.toFixed(2)).join('×')} mm`
                : 'no physical spacing (metrics in px)'}
            </div>
            <label>
              modality{' '}
              <select
                value={study.modality}
                onChange={(e) => actions.setModality(e.target.value as 'CT' | 'MR' | 'US' | 'OT')}
                data-testid="modality"
              >
                <option value="CT">CT</option>
                <option value="MR">MR</option>
                <option value="US">ultrasound</option>
                <option value="OT">other</option>
              </select>
            </label>
            {study.gt ? (
              <div className="muted" data-testid="gt-info">
                ground truth: {study.gt.name} ({study.gt.tableLabel})
                {study.gt.isModelOutput ? ' — a model output, not manual ground truth' : ''}
              </div>
            ) : (
              <div className="muted">no ground truth: metrics need one</div>
            )}
            {[...study.notes, ...(study.gt?.notes ?? [])].map((n) => (
              <div className="note" key={n} data-testid="study-note">
                {n}
              </div>
            ))}
          </div>
        ) : (
          <p className="muted">DICOM, NIfTI, NRRD, MetaImage, PNG or JPEG. Nothing leaves your browser.</p>
        )}
      </section>

      {study && (
        <section>
          <h2>Structure and slice</h2>
          <select
            value={s.structure ?? ''}
            onChange={(e) => actions.setStructure(Number(e.target.value))}
            data-testid="structure"
            aria-label="Structure"
          >
            {study.structures.map((st) => (
              <option key={st.value} value={st.value}>
                {prettyName(st.name)} ({st.slices} slice{st.slices === 1 ? '' : 's'})
              </option>
            ))}
          </select>
          {nSlices > 1 && (
            <div className="row">
              <input
                type="range"
                min={0}
                max={nSlices - 1}
                value={s.slice}
                onChange={(e) => actions.setSlice(Number(e.target.value))}
                data-testid="slice-slider"
                aria-label="Slice"
              />
              <span data-testid="slice-label">
                {s.slice + 1} / {nSlices}
              </span>
              {structure && (
                <button
                  onClick={() => actions.setSlice(structure.bestSlice)}
                  title="Go to the slice where the structure is largest"
                >
                  largest
                </button>
              )}
            </div>
          )}
          <label>
            model input window{' '}
            <select
              value={s.windowPreset}
              onChange={(e) => actions.setWindowPreset(e.target.value)}
              data-testid="window-preset"
            >
              {WINDOW_CHOICES.filter((w) => w.window && (!w.only8bit || study.is8bit)).map((w) => (
                <option key={w.id} value={w.id}>
                  {w.label}
                </option>
              ))}
            </select>
          </label>
          <p className="muted small">
            The same 8-bit window feeds both encoders and is recorded with every result.
          </p>
        </section>
      )}

      <section>
        <h2>Models</h2>
        <ModelSlot slot="sam" />
        <ModelSlot slot="sam2" />
      </section>

      {study && (
        <section>
          <h2>Prompts</h2>
          <div className="muted small" data-testid="prompt-count">
            {s.points.filter((p) => p.label === 1).length} positive ·{' '}
            {s.points.filter((p) => p.label === 0).length} negative{s.box ? ' · box' : ''}
          </div>
          <div className="row wrap">
            <button onClick={() => actions.undo()} disabled={!s.canUndo} data-testid="undo">
              Undo
            </button>
            <button onClick={() => actions.redo()} disabled={!s.canRedo} data-testid="redo">
              Redo
            </button>
            <button onClick={() => actions.clearPrompts()} data-testid="clear">
              Clear
            </button>
          </div>
          <div className="row wrap">
            <select
              value={s.autoStrategy}
              onChange={(e) => s.patch({ autoStrategy: e.target.value as typeof s.autoStrategy })}
              data-testid="auto-strategy"
              aria-label="Auto prompt strategy"
            >
              <option value="centre">centre click</option>
              <option value="centre+random">centre + random positives</option>
              <option value="pos-neg">1 positive + 2 negatives</option>
              <option value="box">box (GT ± 5 px)</option>
            </select>
            {s.autoStrategy === 'centre+random' && (
              <input
                type="number"
                min={1}
                max={10}
                value={s.autoPositives}
                onChange={(e) => s.patch({ autoPositives: Number(e.target.value) })}
                aria-label="positive clicks"
                className="narrow"
              />
            )}
            <label>
              seed{' '}
              <input
                type="number"
                value={s.seed}
                onChange={(e) => s.patch({ seed: Number(e.target.value) })}
                className="narrow"
                data-testid="seed"
              />
            </label>
            <button onClick={() => actions.autoPrompt()} data-testid="auto-prompt">
              Auto prompt
            </button>
          </div>
          <label>
            mask rule{' '}
            <select
              value={s.rule}
              onChange={(e) => actions.setRule(e.target.value as SelectionRule)}
              data-testid="rule"
            >
              {RULES.map((r) => (
                <option key={r} value={r}>
                  {SELECTION_LABELS[r]}
                </option>
              ))}
            </select>
          </label>
          {s.rule === 'single' && (
            <p className="note small" data-testid="rule-note-single">
              Only Meta&apos;s SAM decoder has a single-mask token. SAM 2 exports return 3 multimask
              candidates, so the SAM 2 pane shows its highest-predicted-IoU candidate: under this rule the two
              panes do not show the same kind of output.
            </p>
          )}
        </section>
      )}

      {study && (
        <section>
          <h2>Export</h2>
          <div className="row wrap">
            <button onClick={() => void actions.exportMasks('png')} data-testid="export-png">
              Masks (PNG)
            </button>
            <button onClick={() => void actions.exportMasks('nifti')} data-testid="export-nifti">
              Masks (NIfTI)
            </button>
            <button
              onClick={() => void actions.exportMasks('dicom-seg')}
              disabled={!study.isDicom}
              data-testid="export-seg"
            >
              DICOM SEG
            </button>
            <button onClick={() => void actions.screenshot()} data-testid="screenshot">
              Screenshot
            </button>
          </div>
        </section>
      )}
    </aside>
  );
}
