import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, session, shell } from 'electron';
import { channels } from '../../shared/api';
import { ErrorCodes, fail } from '../../shared/result';
import { createRootLogger } from '../control/core/logger';
import { ControlPlane } from '../control/plane';
import { CONTENT_SECURITY_POLICY } from '../control/ui-server/security';

const rootLog = createRootLogger();
const log = rootLog.child({ component: 'main' });
const rendererIndex = join(__dirname, '../renderer/index.html');
const rendererUrl = process.env.ELECTRON_RENDERER_URL;

let plane: ControlPlane | null = null;
let window: BrowserWindow | null = null;

/** Tells the app's own page apart from remote content, which the window never loads. */
function isAppUrl(url: string): boolean {
  if (rendererUrl) return url.startsWith(rendererUrl);
  return url.split(/[?#]/)[0] === pathToFileURL(rendererIndex).toString();
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'SynapticLlamas',
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.once('ready-to-show', () => win.show());

  // Links to other sites open in the system browser; the window itself never leaves the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());

  if (rendererUrl) void win.loadURL(rendererUrl);
  else void win.loadFile(rendererIndex);
  return win;
}

async function start(): Promise<void> {
  // The built page carries the same policy in a meta tag. The dev server is exempt because
  // React's hot reload needs an inline script.
  if (!rendererUrl) {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({
        responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
      });
    });
  }
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));

  plane = new ControlPlane({ dataDir: app.getPath('userData'), log: rootLog });
  await plane.start();

  // Only the app's own page may call the API, never a frame that navigated elsewhere.
  for (const channel of Object.keys(channels)) {
    ipcMain.handle(channel, (event, args: unknown) => {
      const sender = event.senderFrame?.url ?? '';
      if (!isAppUrl(sender)) return fail(ErrorCodes.unauthorized, `IPC call '${channel}' from a page outside the app`);
      return plane!.api.invoke(channel, args);
    });
  }
  plane.bus.subscribe((type: string, payload: unknown) => {
    if (window && !window.isDestroyed()) window.webContents.send('synaptic:event', { type, payload });
  });

  window = createWindow();
  window.on('closed', () => {
    window = null;
  });
}

app.on('window-all-closed', () => app.quit());

let stopping = false;
app.on('before-quit', (event) => {
  if (stopping || !plane) return;
  stopping = true;
  event.preventDefault();
  plane
    .stop()
    .catch((error: unknown) => log.error({ err: error }, 'Control plane failed to stop'))
    .finally(() => app.quit());
});

app.on('activate', () => {
  if (plane && BrowserWindow.getAllWindows().length === 0) window = createWindow();
});

app
  .whenReady()
  .then(start)
  .catch((error: unknown) => {
    log.fatal({ err: error }, 'SynapticLlamas failed to start');
    app.exit(1);
  });
