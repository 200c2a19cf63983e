// Every word the web app shows, in one place, so that it can be translated. English and
// Portuguese ship; the browser's preferred language picks one (English when neither fits). Words a
// shopper uses: "saved online", never "replicas".

import {
  englishAisleNames,
  englishHistory,
  type Aisle,
  type HistoryWords,
  type ListStatus,
} from '@trolley/client';

export interface Strings {
  lang: string;
  brand: string;
  allLists: string;
  // the lists page
  yourLists: string;
  newListName: string;
  createList: string;
  defaultListTitle: string;
  noLists: string;
  openShared: string;
  shareLinkOrId: string;
  pasteShareLink: string;
  open: string;
  deletedLists: string;
  deleted: string;
  untitled: string;
  sharedList: string;
  listsOnDevice: string;
  itemsCount: (items: number, toBuy: number) => string;
  waitingForList: string;
  yourName: string;
  yourNameHint: string;
  nameSaved: (name: string) => string;
  // one list
  backToLists: string;
  aisleOf: (name: string) => string;
  aisleShort: string;
  moveAisleUp: (aisle: string) => string;
  moveAisleDown: (aisle: string) => string;
  aisleOrderHint: string;
  aisleLearntHint: string;
  useLearntOrder: string;
  swipeCheck: string;
  swipeUncheck: string;
  history: string;
  historyTitle: string;
  noHistory: string;
  bringBack: string;
  bringBackWhat: (what: string) => string;
  broughtBack: string;
  /** How a history entry reads (packages/client wording.ts puts the lines together). */
  historyWords: HistoryWords;
  share: string;
  rename: string;
  listName: string;
  save: string;
  cancel: string;
  deleteList: string;
  confirmDelete: (title: string) => string;
  delete: string;
  keepIt: string;
  listDeletedNotice: string;
  stillSending: string;
  removeFromDevice: string;
  notAListTitle: string;
  notAList: (ref: string) => string;
  goToLists: string;
  openingShared: string;
  nothingYet: string;
  waitingToArrive: string;
  nothingUnderLink: string;
  wrongLinkHint: string;
  addItem: string;
  addForm: string;
  addPlaceholder: string;
  add: string;
  typeSomething: string;
  alreadyOnList: (name: string, wanted: number) => string;
  added: (name: string, quantity: number) => string;
  search: string;
  searchPlaceholder: string;
  noMatch: (query: string) => string;
  allBought: string;
  stillToBuy: (toBuy: number, all: number) => string;
  items: string;
  byAisle: string;
  aisle: Readonly<Record<Aisle, string>>;
  inTrolley: string;
  clearBought: string;
  buyAgain: string;
  buyAgainItem: (name: string) => string;
  // one item
  toBuy: (n: number) => string;
  boughtOf: (bought: number, wanted: number) => string;
  overBought: (bought: number, wanted: number) => string;
  doneLabel: string;
  checkOff: (name: string) => string;
  uncheck: (name: string) => string;
  moreFor: (name: string) => string;
  oneFewer: (name: string) => string;
  oneMore: (name: string) => string;
  boughtOne: (name: string) => string;
  boughtOneShort: string;
  remove: (name: string) => string;
  removeShort: string;
  addNote: (name: string) => string;
  editNote: (name: string) => string;
  addNoteShort: string;
  editNoteShort: string;
  noteFor: (name: string) => string;
  notePlaceholder: string;
  saveNote: (name: string) => string;
  cancelNote: (name: string) => string;
  wantedCount: (name: string) => string;
  changeItem: (name: string) => string;
  // undo
  undo: string;
  removed: (name: string) => string;
  checkedOff: (name: string) => string;
  unchecked: (name: string) => string;
  cleared: (n: number) => string;
  listDeleted: (title: string) => string;
  undone: string;
  // sharing
  shareTitle: string;
  shareExplain: string;
  shareLink: string;
  copyLink: string;
  copied: string;
  cannotCopy: string;
  shareSheet: string;
  done: string;
  qrAlt: string;
  loopbackWarning: (host: string) => string;
  // connection
  offline: string;
  connecting: string;
  cannotReach: string;
  badge: Record<ListStatus, { text: string; hint: string }>;
  waiting: (n: number) => string;
  // errors
  somethingWrong: string;
  somethingWrongWith: (message: string) => string;
  storageFailedTitle: string;
  storageFailedHint: string;
  pageFailedTitle: string;
  pageFailed: (message: string) => string;
  reload: string;
}

const en: Strings = {
  lang: 'en',
  brand: 'Trolley',
  allLists: 'Trolley, all lists',
  yourLists: 'Your lists',
  newListName: 'New list name',
  createList: 'Create list',
  defaultListTitle: 'Shopping',
  noLists: 'No lists yet. Create one, or open a list someone shared with you.',
  openShared: 'Open a shared list',
  shareLinkOrId: 'Share link or list ID',
  pasteShareLink: 'Paste a share link',
  open: 'Open',
  deletedLists: 'Deleted lists',
  deleted: 'deleted',
  untitled: 'Untitled',
  sharedList: 'Shared list',
  listsOnDevice: 'Lists on this device',
  itemsCount: (items, toBuy) => `${items} ${items === 1 ? 'item' : 'items'}, ${toBuy} to buy`,
  waitingForList: 'waiting for the list',
  yourName: 'Your name',
  yourNameHint: 'Shown to the people you share lists with, in each list’s history.',
  nameSaved: (name) => (name === '' ? 'Name removed.' : `Saved: your changes now show as ${name}.`),
  aisleOf: (name) => `Aisle of ${name}`,
  aisleShort: 'Aisle',
  moveAisleUp: (aisle) => `Move ${aisle} up`,
  moveAisleDown: (aisle) => `Move ${aisle} down`,
  aisleOrderHint: 'Your own order: drag an aisle, or use its arrows, to change it.',
  aisleLearntHint:
    'In the order you usually check items off. Drag an aisle, or use its arrows, to set your own.',
  useLearntOrder: 'Use the learnt order',
  swipeCheck: '✓ Check off',
  swipeUncheck: 'Uncheck',
  history: 'History',
  historyTitle: 'Who did what',
  noHistory: 'No changes recorded yet.',
  bringBack: 'Bring back',
  bringBackWhat: (what) => `Bring back: ${what}`,
  broughtBack: 'Brought back.',
  historyWords: englishHistory,
  backToLists: '← All lists',
  share: 'Share',
  rename: 'Rename',
  listName: 'List name',
  save: 'Save',
  cancel: 'Cancel',
  deleteList: 'Delete list',
  confirmDelete: (title) => `Delete “${title}” for everyone who has the link?`,
  delete: 'Delete',
  keepIt: 'Keep it',
  listDeletedNotice: 'This list was deleted. Adding an item brings it back for everyone.',
  stillSending:
    'This device still has changes of this list to send; it can be removed from here once they are saved online.',
  removeFromDevice: 'Remove from this device',
  notAListTitle: 'Not a list link',
  notAList: (ref) => `“${ref}” is not a Trolley list link. Check the link you were given, or `,
  goToLists: 'go to your lists',
  openingShared: 'Opening the shared list…',
  nothingYet: 'Nothing on this list yet.',
  waitingToArrive: 'Waiting for the list to arrive…',
  nothingUnderLink:
    'Nobody has saved a list under this link. Check the link, or ask whoever shared it to open the list once while online. Anything you add here will be shared.',
  wrongLinkHint: 'Wrong link? Remove it from this device; nobody else is affected.',
  addItem: 'Item',
  addForm: 'Add an item',
  addPlaceholder: 'Add an item, e.g. 2 bananas',
  add: 'Add',
  typeSomething: 'Type what to add first.',
  alreadyOnList: (name, wanted) => `${name} is already on the list — now ${wanted}.`,
  added: (name, quantity) => (quantity === 1 ? `Added ${name}.` : `Added ${quantity} × ${name}.`),
  search: 'Search this list',
  searchPlaceholder: 'Search',
  noMatch: (query) => `Nothing on this list matches “${query}”.`,
  allBought: 'All bought.',
  stillToBuy: (toBuy, all) => `${toBuy} of ${all} to buy`,
  items: 'Items',
  byAisle: 'By aisle',
  aisle: englishAisleNames,
  inTrolley: 'In the trolley',
  clearBought: 'Clear bought items',
  buyAgain: 'Buy again',
  buyAgainItem: (name) => `Buy ${name} again`,
  toBuy: (n) => `${n} to buy`,
  boughtOf: (bought, wanted) => `${bought} of ${wanted} bought`,
  overBought: (bought, wanted) => `${bought} bought, ${wanted} wanted`,
  doneLabel: 'bought',
  checkOff: (name) => `Check off ${name}`,
  uncheck: (name) => `Uncheck ${name}`,
  moreFor: (name) => `More for ${name}`,
  oneFewer: (name) => `One fewer ${name}`,
  oneMore: (name) => `One more ${name}`,
  boughtOne: (name) => `Bought 1 ${name}`,
  boughtOneShort: 'Bought 1',
  remove: (name) => `Remove ${name}`,
  removeShort: 'Remove',
  addNote: (name) => `Add note to ${name}`,
  editNote: (name) => `Edit note for ${name}`,
  addNoteShort: 'Add note',
  editNoteShort: 'Edit note',
  noteFor: (name) => `Note for ${name}`,
  notePlaceholder: 'e.g. the big tin',
  saveNote: (name) => `Save note for ${name}`,
  cancelNote: (name) => `Cancel note for ${name}`,
  wantedCount: (name) => `How many ${name}`,
  changeItem: (name) => `Change ${name}`,
  undo: 'Undo',
  removed: (name) => `Removed ${name}.`,
  checkedOff: (name) => `Checked off ${name}.`,
  unchecked: (name) => `Unchecked ${name}.`,
  cleared: (n) => `Cleared ${n} bought ${n === 1 ? 'item' : 'items'}.`,
  listDeleted: (title) => `Deleted “${title}”.`,
  undone: 'Undone.',
  shareTitle: 'Share this list',
  shareExplain: 'Anyone with this link can see and change the list.',
  shareLink: 'Share link',
  copyLink: 'Copy link',
  copied: 'Link copied.',
  cannotCopy: 'Could not copy here: select the link and copy it yourself.',
  shareSheet: 'Share…',
  done: 'Done',
  qrAlt: 'QR code of the share link',
  loopbackWarning: (host) =>
    `This link points at ${host}, this computer only: a phone that scans it cannot open it. Start Trolley with TROLLEY_PUBLIC_URL set to an address others can reach (e.g. http://192.168.1.20:8080/).`,
  offline: 'You are offline. Changes are saved on this device and will sync when you reconnect.',
  connecting: 'Connecting… Changes are saved on this device meanwhile.',
  cannotReach: 'Cannot go online; retrying. Changes are saved on this device and will sync later.',
  badge: {
    joining: { text: 'Waiting for the list', hint: 'Nothing has arrived for this link yet' },
    local: { text: 'Not sent yet', hint: 'Some changes are saved on this device and wait to go online' },
    cloud: { text: 'Saved online', hint: 'Every change made here is saved online' },
    'all-replicas': {
      text: 'Up to date',
      hint: 'Saved online, and every copy online holds exactly this list',
    },
  },
  waiting: (n) => `${n} waiting`,
  somethingWrong: 'Something went wrong.',
  somethingWrongWith: (message) => `Something went wrong: ${message}`,
  storageFailedTitle: 'Trolley could not open its storage',
  storageFailedHint:
    'Close other Trolley tabs and reload. In a private window, some browsers do not allow storage.',
  pageFailedTitle: 'Something went wrong on this page',
  pageFailed: (message) =>
    `Your lists are safe: they are saved on this device. Reload to carry on. (${message})`,
  reload: 'Reload',
};

const pt: Strings = {
  lang: 'pt',
  brand: 'Trolley',
  allLists: 'Trolley, todas as listas',
  yourLists: 'As suas listas',
  newListName: 'Nome da nova lista',
  createList: 'Criar lista',
  defaultListTitle: 'Compras',
  noLists: 'Ainda não há listas. Crie uma, ou abra uma lista que alguém partilhou consigo.',
  openShared: 'Abrir uma lista partilhada',
  shareLinkOrId: 'Link de partilha ou ID da lista',
  pasteShareLink: 'Cole um link de partilha',
  open: 'Abrir',
  deletedLists: 'Listas apagadas',
  deleted: 'apagada',
  untitled: 'Sem nome',
  sharedList: 'Lista partilhada',
  listsOnDevice: 'Listas neste dispositivo',
  itemsCount: (items, toBuy) => `${items} ${items === 1 ? 'artigo' : 'artigos'}, ${toBuy} por comprar`,
  waitingForList: 'à espera da lista',
  yourName: 'O seu nome',
  yourNameHint: 'Mostrado a quem partilha listas consigo, no histórico de cada lista.',
  nameSaved: (name) =>
    name === '' ? 'Nome removido.' : `Guardado: as suas alterações aparecem como ${name}.`,
  aisleOf: (name) => `Corredor de ${name}`,
  aisleShort: 'Corredor',
  moveAisleUp: (aisle) => `Subir ${aisle}`,
  moveAisleDown: (aisle) => `Descer ${aisle}`,
  aisleOrderHint: 'A sua ordem: arraste um corredor, ou use as setas, para a mudar.',
  aisleLearntHint:
    'Pela ordem em que costuma marcar os artigos. Arraste um corredor, ou use as setas, para definir a sua.',
  useLearntOrder: 'Usar a ordem aprendida',
  swipeCheck: '✓ Comprado',
  swipeUncheck: 'Desmarcar',
  history: 'Histórico',
  historyTitle: 'Quem fez o quê',
  noHistory: 'Ainda não há alterações registadas.',
  bringBack: 'Repor',
  bringBackWhat: (what) => `Repor: ${what}`,
  broughtBack: 'Reposto.',
  historyWords: {
    you: 'Você',
    someone: 'Alguém',
    action: (e) => {
      const items = (n: number): string => `${n} ${n === 1 ? 'artigo' : 'artigos'}`;
      switch (e.kind) {
        case 'add':
          return e.n === 1 ? `adicionou ${e.name}` : `adicionou ${e.n} × ${e.name}`;
        case 'set':
          return `pôs ${e.name} em ${e.n}`;
        case 'increase':
          return `pediu mais ${e.n} ${e.name}`;
        case 'decrease':
          return `pediu menos ${e.n} ${e.name}`;
        case 'buy':
          return `comprou ${e.n} × ${e.name}`;
        case 'check':
          return `marcou ${e.name} como comprado`;
        case 'uncheck':
          return `desmarcou ${e.name}`;
        case 'note':
          return `mudou a nota de ${e.name}`;
        case 'remove':
          return `removeu ${e.name}`;
        case 'clear':
          return `limpou ${items(e.n)} comprados`;
        case 'delete':
          return `apagou a lista`;
        case 'rename':
          return `mudou o nome da lista para ${e.name}`;
        case 'restore':
          return e.n === 0 ? 'repôs a lista' : `repôs ${items(e.n)}`;
        case 'undo':
          return `desfez uma alteração a ${e.name || 'a lista'}`;
        case 'create':
          return 'criou a lista';
      }
    },
  },
  backToLists: '← Todas as listas',
  share: 'Partilhar',
  rename: 'Mudar o nome',
  listName: 'Nome da lista',
  save: 'Guardar',
  cancel: 'Cancelar',
  deleteList: 'Apagar lista',
  confirmDelete: (title) => `Apagar “${title}” para todos os que têm o link?`,
  delete: 'Apagar',
  keepIt: 'Manter',
  listDeletedNotice: 'Esta lista foi apagada. Adicionar um artigo trá-la de volta para todos.',
  stillSending:
    'Este dispositivo ainda tem alterações desta lista por enviar; pode removê-la daqui quando estiverem guardadas online.',
  removeFromDevice: 'Remover deste dispositivo',
  notAListTitle: 'Não é um link de lista',
  notAList: (ref) => `“${ref}” não é um link de lista do Trolley. Verifique o link que recebeu, ou `,
  goToLists: 'vá para as suas listas',
  openingShared: 'A abrir a lista partilhada…',
  nothingYet: 'Ainda não há nada nesta lista.',
  waitingToArrive: 'À espera que a lista chegue…',
  nothingUnderLink:
    'Ninguém guardou uma lista com este link. Verifique o link, ou peça a quem o partilhou que abra a lista uma vez com rede. O que adicionar aqui será partilhado.',
  wrongLinkHint: 'Link errado? Remova-o deste dispositivo; mais ninguém é afetado.',
  addItem: 'Artigo',
  addForm: 'Adicionar um artigo',
  addPlaceholder: 'Adicionar, p. ex. 2 bananas',
  add: 'Adicionar',
  typeSomething: 'Escreva primeiro o que quer adicionar.',
  alreadyOnList: (name, wanted) => `${name} já está na lista — agora ${wanted}.`,
  added: (name, quantity) => (quantity === 1 ? `${name} adicionado.` : `${quantity} × ${name} adicionados.`),
  search: 'Procurar nesta lista',
  searchPlaceholder: 'Procurar',
  noMatch: (query) => `Nada nesta lista corresponde a “${query}”.`,
  allBought: 'Tudo comprado.',
  stillToBuy: (toBuy, all) => `${toBuy} de ${all} por comprar`,
  items: 'Artigos',
  byAisle: 'Por corredor',
  aisle: {
    produce: 'Fruta e legumes',
    bakery: 'Padaria',
    dairy: 'Laticínios e ovos',
    meat: 'Talho e peixaria',
    frozen: 'Congelados',
    pantry: 'Mercearia',
    drinks: 'Bebidas',
    household: 'Casa e limpeza',
    care: 'Higiene pessoal',
    other: 'Outros',
  },
  inTrolley: 'No carrinho',
  clearBought: 'Limpar os comprados',
  buyAgain: 'Comprar outra vez',
  buyAgainItem: (name) => `Comprar ${name} outra vez`,
  toBuy: (n) => `${n} por comprar`,
  boughtOf: (bought, wanted) => `${bought} de ${wanted} comprados`,
  overBought: (bought, wanted) => `${bought} comprados, ${wanted} pedidos`,
  doneLabel: 'comprado',
  checkOff: (name) => `Marcar ${name} como comprado`,
  uncheck: (name) => `Desmarcar ${name}`,
  moreFor: (name) => `Mais opções para ${name}`,
  oneFewer: (name) => `Menos um ${name}`,
  oneMore: (name) => `Mais um ${name}`,
  boughtOne: (name) => `Comprei 1 ${name}`,
  boughtOneShort: 'Comprei 1',
  remove: (name) => `Remover ${name}`,
  removeShort: 'Remover',
  addNote: (name) => `Adicionar nota a ${name}`,
  editNote: (name) => `Editar a nota de ${name}`,
  addNoteShort: 'Adicionar nota',
  editNoteShort: 'Editar nota',
  noteFor: (name) => `Nota para ${name}`,
  notePlaceholder: 'p. ex. a lata grande',
  saveNote: (name) => `Guardar a nota de ${name}`,
  cancelNote: (name) => `Cancelar a nota de ${name}`,
  wantedCount: (name) => `Quantos ${name}`,
  changeItem: (name) => `Alterar ${name}`,
  undo: 'Desfazer',
  removed: (name) => `${name} removido.`,
  checkedOff: (name) => `${name} marcado como comprado.`,
  unchecked: (name) => `${name} desmarcado.`,
  cleared: (n) => `${n} ${n === 1 ? 'artigo comprado limpo' : 'artigos comprados limpos'}.`,
  listDeleted: (title) => `“${title}” apagada.`,
  undone: 'Desfeito.',
  shareTitle: 'Partilhar esta lista',
  shareExplain: 'Quem tiver este link pode ver e alterar a lista.',
  shareLink: 'Link de partilha',
  copyLink: 'Copiar link',
  copied: 'Link copiado.',
  cannotCopy: 'Não foi possível copiar aqui: selecione o link e copie-o.',
  shareSheet: 'Partilhar…',
  done: 'Concluído',
  qrAlt: 'Código QR do link de partilha',
  loopbackWarning: (host) =>
    `Este link aponta para ${host}, só este computador: um telemóvel que o leia não o consegue abrir. Inicie o Trolley com TROLLEY_PUBLIC_URL definido com um endereço que outros alcancem (p. ex. http://192.168.1.20:8080/).`,
  offline: 'Está sem rede. As alterações ficam neste dispositivo e sincronizam quando voltar a ligar.',
  connecting: 'A ligar… As alterações ficam guardadas neste dispositivo entretanto.',
  cannotReach: 'Sem ligação; a tentar de novo. As alterações ficam neste dispositivo e sincronizam depois.',
  badge: {
    joining: { text: 'À espera da lista', hint: 'Ainda não chegou nada para este link' },
    local: { text: 'Por enviar', hint: 'Há alterações guardadas neste dispositivo à espera de rede' },
    cloud: { text: 'Guardada online', hint: 'Todas as alterações feitas aqui estão guardadas online' },
    'all-replicas': { text: 'Atualizada', hint: 'Guardada online, e todas as cópias online têm esta lista' },
  },
  waiting: (n) => `${n} à espera`,
  somethingWrong: 'Algo correu mal.',
  somethingWrongWith: (message) => `Algo correu mal: ${message}`,
  storageFailedTitle: 'O Trolley não conseguiu abrir o armazenamento',
  storageFailedHint:
    'Feche outros separadores do Trolley e recarregue. Numa janela privada, alguns navegadores não permitem armazenamento.',
  pageFailedTitle: 'Algo correu mal nesta página',
  pageFailed: (message) =>
    `As suas listas estão a salvo neste dispositivo. Recarregue para continuar. (${message})`,
  reload: 'Recarregar',
};

export const languages: Readonly<Record<string, Strings>> = { en, pt };

/** The strings for the first of `preferred` (BCP 47 tags, e.g. navigator.languages) we ship. */
export function stringsFor(preferred: readonly string[]): Strings {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0] ?? '';
    const found = languages[base];
    if (found !== undefined) return found;
  }
  return en;
}

/** The app's strings, chosen once from the browser's languages. */
export const t: Strings =
  typeof navigator === 'undefined' ? en : stringsFor(navigator.languages ?? [navigator.language]);
