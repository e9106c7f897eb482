// player.js - a transcript's kept audio: a player under the controls,
// playing from a word's time, and the time as it plays (for the page to
// mark the word being heard).  Shown only once the server has audio
// kept for the transcript, so that a transcript without any asks for no
// file that is not there.
import { api, h } from './api.js';

// onAvailable(bool): told after each refresh whether there is audio.
export function audioPlayer(id, onTime, onAvailable = () => {}) {
  const audio = h('audio', { controls: true, preload: 'metadata', 'aria-label': 'Recording' });
  const bar = h('div', { class: 'player', hidden: true }, audio);
  let available = false;
  let frame = null;

  // Whether audio is kept now (after a recording or an upload there may
  // be more): the player loads it afresh unless it is playing.
  async function refresh() {
    try {
      available = (await api.keepAudio(id)).has_audio;
    } catch {
      available = false;
    }
    bar.hidden = !available;
    onAvailable(available);
    if (available && audio.paused) {
      const at = audio.currentTime;
      audio.src = `/api/transcriptions/${id}/audio.ogg?v=${Date.now()}`;
      if (at) audio.addEventListener('loadedmetadata', () => { audio.currentTime = at; },
                                     { once: true });
    }
    return available;
  }

  function playFrom(seconds) {
    if (!available) return false;
    const start = () => {
      audio.currentTime = Math.max(0, seconds);
      audio.play().catch(() => { /* the user pressed pause, or left */ });
    };
    if (audio.readyState >= 1) start();
    else audio.addEventListener('loadedmetadata', start, { once: true });
    return true;
  }

  // Every frame while playing: a word is marked as it is heard, not four
  // times a second as timeupdate would.
  const tick = () => {
    onTime(audio.currentTime, !audio.paused);
    frame = audio.paused ? null : requestAnimationFrame(tick);
  };
  audio.addEventListener('play', () => { if (!frame) frame = requestAnimationFrame(tick); });
  for (const ev of ['pause', 'seeked', 'ended'])
    audio.addEventListener(ev, () => onTime(audio.currentTime, !audio.paused));

  return {
    element: bar,
    audio,
    refresh,
    playFrom,
    toggle: () => (audio.paused ? audio.play().catch(() => {}) : audio.pause()),
    get available() { return available; },
  };
}
