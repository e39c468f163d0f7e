//! The event loop: the UI task alone owns the state; it never waits on IO.
//!
//! Messages (terminal events, ticks, data from sync) arrive on one channel;
//! each batch of ready messages is applied with `update`, the resulting effects
//! are queued for the sync layer without blocking, and one frame is drawn.

use chrono::Utc;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::app::{AppState, Effect, Msg, update};

/// Most messages applied before a frame is drawn (keeps the UI responsive
/// while sync floods progress messages).
const BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("terminal: {0}")]
    Terminal(String),
}

/// Runs the app on `terminal` until `q` or until every message sender is gone.
/// Initial effects (load settlements, batches, mapping) are sent first.
/// Returns the final state.
pub async fn run_app<B: Backend>(
    terminal: &mut Terminal<B>,
    mut state: AppState,
    mut rx: mpsc::Receiver<Msg>,
    effects_tx: mpsc::Sender<Effect>,
) -> Result<AppState, RunError> {
    let mut pending: VecDeque<Effect> = AppState::initial_effects().into();
    let draw = |terminal: &mut Terminal<B>, state: &AppState| {
        terminal
            .draw(|f| super::render(f, state))
            .map(|_| ())
            .map_err(|e| RunError::Terminal(e.to_string()))
    };
    draw(terminal, &state)?;
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                pending.extend(update(&mut state, msg));
                for _ in 1..BATCH {
                    match rx.try_recv() {
                        Ok(msg) => pending.extend(update(&mut state, msg)),
                        Err(_) => break,
                    }
                }
                if state.quit {
                    // best effort: tell sync; never wait for it
                    while let Some(e) = pending.pop_front() {
                        let _ = effects_tx.try_send(e);
                    }
                    break;
                }
                draw(terminal, &state)?;
            }
            permit = effects_tx.reserve(), if !pending.is_empty() => {
                match permit {
                    Ok(permit) => {
                        if let Some(e) = pending.pop_front() {
                            permit.send(e);
                        }
                    }
                    // sync is gone: keep the UI up, say so
                    Err(_) => {
                        pending.clear();
                        pending.extend(update(&mut state, Msg::Error("the sync task stopped; restart to reconnect".into())));
                        pending.clear();
                        draw(terminal, &state)?;
                    }
                }
            }
        }
    }
    Ok(state)
}

/// Sets up the terminal (restoring it on exit and on panic), feeds terminal
/// events and a one-second clock tick into `msg_tx`, and runs [`run_app`].
/// The caller gives sync a clone of `msg_tx` and executes what arrives on
/// `effects_tx`. `NO_COLOR` is honoured.
pub async fn run_terminal_app(
    actor: String,
    msg_tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    effects_tx: mpsc::Sender<Effect>,
) -> std::io::Result<AppState> {
    let mut terminal = super::terminal::setup()?;
    let size = terminal.size()?;
    let state = AppState::new(actor, (size.width, size.height))
        .with_no_color(AppState::no_color_from_env());
    let input_tx = msg_tx.clone();
    let input = tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            let msg = match ev {
                Event::Key(k) => Msg::Key(k),
                Event::Mouse(m) => Msg::Mouse(m),
                Event::Resize(w, h) => Msg::Resize(w, h),
                _ => continue,
            };
            if input_tx.send(msg).await.is_err() {
                break;
            }
        }
    });
    let tick = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if msg_tx.send(Msg::Tick(Utc::now())).await.is_err() {
                break;
            }
        }
    });
    let result = run_app(&mut terminal, state, rx, effects_tx).await;
    input.abort();
    tick.abort();
    super::terminal::restore()?;
    result.map_err(|e| std::io::Error::other(e.to_string()))
}
